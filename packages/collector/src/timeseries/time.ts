/**
 * Bucket arithmetic shared by the API, the rollups and the partition jobs.
 *
 * Every bucket boundary is a whole number of steps after ORIGIN, a Monday at
 * 00:00 UTC: the origin TimescaleDB's time_bucket() uses by default, so the
 * SQL `date_bin(step, ts, ORIGIN)` here and `time_bucket(step, ts)` there put
 * a row in the same bucket, and day and week buckets start at UTC midnight
 * (weeks on Monday).
 */
export const ORIGIN_MS = Date.UTC(2000, 0, 3);
export const ORIGIN_SQL = `TIMESTAMPTZ '2000-01-03 00:00:00+00'`;

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** The start of the step-wide bucket that holds t. */
export function alignDown(t: number, stepMs: number): number {
  return ORIGIN_MS + Math.floor((t - ORIGIN_MS) / stepMs) * stepMs;
}

/** The first bucket boundary at or after t. */
export function alignUp(t: number, stepMs: number): number {
  return ORIGIN_MS + Math.ceil((t - ORIGIN_MS) / stepMs) * stepMs;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** "30s", "5m", "1h", "7d" or a bare number of seconds → seconds; null if malformed. */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,7})([smhd]?)$/.exec(text.trim());
  if (!m) return null;
  const seconds = Number(m[1]) * UNITS[m[2] || 's']!;
  return seconds > 0 ? seconds : null;
}

/** Seconds → the shortest exact "30s"/"5m"/"1h"/"1d" spelling. */
export function formatDuration(seconds: number): string {
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
