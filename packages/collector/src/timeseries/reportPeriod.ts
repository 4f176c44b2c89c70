import { DAY } from './time';

export type ReportPeriod = 'day' | 'week' | 'month';

export class ReportPeriodError extends Error {
  override name = 'ReportPeriodError';
}

/** The UTC day, ISO week (Monday first) or calendar month that holds t. */
function periodStart(period: ReportPeriod, t: Date): Date {
  const day = Math.floor(t.getTime() / DAY) * DAY;
  if (period === 'day') return new Date(day);
  if (period === 'week') {
    const dow = (new Date(day).getUTCDay() + 6) % 7; // Monday = 0
    return new Date(day - dow * DAY);
  }
  return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1));
}

function periodEnd(period: ReportPeriod, start: Date): Date {
  if (period === 'day') return new Date(start.getTime() + DAY);
  if (period === 'week') return new Date(start.getTime() + 7 * DAY);
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}

/**
 * The report window: the period holding `at`, or without `at` the last
 * complete period before `now` (yesterday, last week, last month). A period
 * still in progress is reported up to its end (the later part has no data yet);
 * one that has not begun is refused.
 */
export function reportWindow(period: ReportPeriod, at: Date | null, now: Date): { from: Date; to: Date } {
  if (at === null) {
    const current = periodStart(period, now);
    const from = periodStart(period, new Date(current.getTime() - 1));
    return { from, to: current };
  }
  const from = periodStart(period, at);
  if (from.getTime() > now.getTime()) throw new ReportPeriodError(`the ${period} starting ${from.toISOString()} has not begun`);
  return { from, to: periodEnd(period, from) };
}
