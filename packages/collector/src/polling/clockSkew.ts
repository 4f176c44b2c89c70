import { PollError } from './agentClient';

export interface ClockBounds {
  maxFutureSkewMs: number;
  maxSampleAgeMs: number;
}

/**
 * Skew of one sample: its timestamp minus the collector's clock at the middle
 * of the request. Throws PollError('clock_skew') when the timestamp is absurd
 * (further ahead than maxFutureSkewMs, or older than maxSampleAgeMs): storing
 * it would put a point in the wrong place of every chart and alert window.
 */
export function checkSampleTime(timestamp: string, collectorMs: number, bounds: ClockBounds): number {
  const ts = Date.parse(timestamp);
  const skew = ts - collectorMs;
  if (!Number.isFinite(ts)) throw new PollError('clock_skew', `sample timestamp "${timestamp}" is not a time`);
  if (skew > bounds.maxFutureSkewMs) {
    throw Object.assign(new PollError('clock_skew', `sample timestamp ${timestamp} is ${Math.round(skew / 1000)} s ahead of the collector clock`), { skew });
  }
  if (-skew > bounds.maxSampleAgeMs) {
    throw Object.assign(new PollError('clock_skew', `sample timestamp ${timestamp} is ${Math.round(-skew / 1000)} s behind the collector clock`), { skew });
  }
  return skew;
}
