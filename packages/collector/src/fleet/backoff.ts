export interface BackoffPolicy {
  /** Delay after the first failure (before jitter). */
  baseMs: number;
  /** Cap on the delay, however many failures. */
  maxMs: number;
}

/**
 * Delay before retrying an agent after `failures` consecutive failures:
 * exponential, capped, with "equal jitter" (half fixed, half random) so that
 * agents which failed together (a network cut) do not all retry together,
 * while no retry comes sooner than half the nominal delay.
 */
export function backoffDelayMs(failures: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  if (failures <= 0) return 0;
  const nominal = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(nominal / 2 + (random() * nominal) / 2);
}

/** A stable offset in [0, spreadMs) for an agent: the same phase every tick (FNV-1a). */
export function phaseOffsetMs(agentId: string, spreadMs: number): number {
  if (spreadMs <= 0) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < agentId.length; i++) {
    h ^= agentId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return Math.floor((h / 2 ** 32) * spreadMs);
}
