import type { FlapConfig } from './rules';

// Nagios weighs recent changes more than old ones: the oldest possible
// change counts 0.75, the newest 1.25 (its "curved" percent state change).
const LOW_WEIGHT = 0.75;
const HIGH_WEIGHT = 1.25;

/**
 * Weighted percent state change over the last `window` levels (oldest
 * first, one character per evaluation with a new sample). A window of N
 * levels has N-1 possible changes; a shorter history is measured against the
 * full window, so an alert needs that many changes before it can flap.
 */
export function percentStateChange(history: string, window: number): number {
  const h = history.slice(-window);
  if (window < 3 || h.length < 2) return 0;
  const slots = window - 1;
  let changes = 0;
  for (let i = 1; i < h.length; i++) {
    if (h[i] === h[i - 1]) continue;
    // Slot of this change among the window's possible changes, 0 = oldest.
    const slot = slots - (h.length - i);
    changes += LOW_WEIGHT + ((HIGH_WEIGHT - LOW_WEIGHT) * slot) / (slots - 1);
  }
  return (changes * 100) / slots;
}

/** Hysteresis on the flap score itself: start at or above high, stop below low. */
export function nextFlapping(wasFlapping: boolean, percent: number, cfg: FlapConfig): boolean {
  return wasFlapping ? percent >= cfg.low : percent >= cfg.high;
}
