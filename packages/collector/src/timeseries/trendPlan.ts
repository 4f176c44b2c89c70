import { alignDown, alignUp, formatDuration, SECOND } from './time';

/**
 * Where a bucketed series is read from. A rollup serves a step when the step
 * is a whole number of its buckets (buckets are aligned to the same origin,
 * so each step-wide bucket is exactly a set of rollup buckets); the coarsest
 * rollup that does is the one with the fewest rows to read.
 */
export interface Source {
  readonly table: string;
  /** 0 for raw rows. */
  readonly bucketSeconds: number;
}

export const METRIC_SOURCES: readonly Source[] = [
  { table: 'agent_metrics_1h', bucketSeconds: 3600 },
  { table: 'agent_metrics_5m', bucketSeconds: 300 },
  { table: 'agent_metrics', bucketSeconds: 0 },
];

export const SERVICE_SOURCES: readonly Source[] = [
  { table: 'service_status_1h', bucketSeconds: 3600 },
  { table: 'service_status', bucketSeconds: 0 },
];

export function chooseSource(sources: readonly Source[], stepSeconds: number): Source {
  return sources.find((s) => s.bucketSeconds === 0 || stepSeconds % s.bucketSeconds === 0)!;
}

/** Steps the API picks from when none is given, finest first. */
export const AUTO_STEPS_SECONDS = [30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 7 * 86_400] as const;

export interface TrendLimits {
  /** An automatic step is the finest that gives at most this many buckets. */
  readonly autoPoints: number;
  /** Any request giving more buckets than this is refused. */
  readonly maxPoints: number;
}

export const DEFAULT_TREND_LIMITS: TrendLimits = { autoPoints: 720, maxPoints: 10_000 };

export class TrendPlanError extends Error {
  override name = 'TrendPlanError';
  constructor(
    readonly code: 'invalid_range' | 'too_many_points',
    message: string,
  ) {
    super(message);
  }
}

export interface TrendPlan {
  /** Aligned down to a step boundary. */
  readonly from: Date;
  /** Aligned up to a step boundary: the window is whole buckets. */
  readonly to: Date;
  readonly stepSeconds: number;
  readonly step: string;
  readonly buckets: number;
  readonly source: Source;
  /**
   * 'exact' when each step-wide bucket is one source bucket (or raw rows);
   * 'approximate' when p95 is the sample-weighted mean of several bucket p95s.
   */
  readonly p95: 'exact' | 'approximate';
}

const bucketsIn = (from: number, to: number, stepMs: number) => Math.round((alignUp(to, stepMs) - alignDown(from, stepMs)) / stepMs);

/**
 * Turns a request (from, to, optional step) into the aligned window, the step
 * and the table that serves it. Pure: `from`/`to` already default from the clock.
 */
export function planTrend(
  req: { from: Date; to: Date; stepSeconds: number | null },
  sources: readonly Source[],
  limits: TrendLimits = DEFAULT_TREND_LIMITS,
): TrendPlan {
  const from = req.from.getTime();
  const to = req.to.getTime();
  if (!(from < to)) throw new TrendPlanError('invalid_range', 'from must be before to');
  let stepSeconds = req.stepSeconds;
  if (stepSeconds === null) {
    stepSeconds = AUTO_STEPS_SECONDS.find((s) => bucketsIn(from, to, s * SECOND) <= limits.autoPoints) ?? AUTO_STEPS_SECONDS[AUTO_STEPS_SECONDS.length - 1]!;
  }
  const stepMs = stepSeconds * SECOND;
  const buckets = bucketsIn(from, to, stepMs);
  if (buckets > limits.maxPoints) {
    const fits = AUTO_STEPS_SECONDS.find((s) => bucketsIn(from, to, s * SECOND) <= limits.maxPoints);
    throw new TrendPlanError(
      'too_many_points',
      `step ${formatDuration(stepSeconds)} over this range gives ${buckets} points; at most ${limits.maxPoints} are allowed` +
        (fits ? `: use step=${formatDuration(fits)} or larger, or a shorter range` : ': use a shorter range'),
    );
  }
  const source = chooseSource(sources, stepSeconds);
  return {
    from: new Date(alignDown(from, stepMs)),
    to: new Date(alignUp(to, stepMs)),
    stepSeconds,
    step: formatDuration(stepSeconds),
    buckets,
    source,
    p95: source.bucketSeconds === 0 || source.bucketSeconds === stepSeconds ? 'exact' : 'approximate',
  };
}

/** Every bucket start of a plan: the API fills the ones without data with nulls. */
export function bucketStarts(plan: Pick<TrendPlan, 'from' | 'stepSeconds' | 'buckets'>): number[] {
  const stepMs = plan.stepSeconds * SECOND;
  return Array.from({ length: plan.buckets }, (_, i) => plan.from.getTime() + i * stepMs);
}

/** Rows keyed by bucket start → one entry per bucket, `empty(ts)` where there is none. */
export function fillGaps<R extends { bucket: Date | string }, O>(
  starts: readonly number[],
  rows: readonly R[],
  present: (row: R, ts: number) => O,
  empty: (ts: number) => O,
): O[] {
  const byTime = new Map(rows.map((r) => [new Date(r.bucket).getTime(), r]));
  return starts.map((ts) => {
    const r = byTime.get(ts);
    return r ? present(r, ts) : empty(ts);
  });
}
