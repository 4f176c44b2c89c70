import type { Db, Queryable } from './db';
import { ORIGIN_SQL } from '../timeseries/time';

/**
 * Rollups of the partitioned (plain PostgreSQL/PGlite) mode: agent_metrics_5m,
 * agent_metrics_1h, service_status_1h and agent_polls_1h, kept equal to the
 * aggregates of their raw rows. Under TimescaleDB the same names are
 * continuous aggregates (migration 000004) and nothing here writes to them.
 *
 * How they stay current: a statement trigger on each raw table records the
 * (source, agent, 5-minute bucket) every INSERT touched in
 * rollup_invalidations, in the writer's transaction. refreshRollups() drains
 * that list and recomputes exactly those buckets from raw rows, upserting the
 * result, so a refresh is idempotent and a crash between a write and its
 * refresh only delays it to the next drain. The collector drains after every
 * tier.
 */

export type MetricAgg = 'avg' | 'min' | 'max' | 'p95';

/** Raw agent_metrics columns and the aggregates each rollup keeps of them. */
export const METRIC_COLUMNS: ReadonlyArray<{ column: string; aggs: readonly MetricAgg[]; nullable?: boolean }> = [
  { column: 'cpu_usage', aggs: ['avg', 'min', 'max', 'p95'] },
  { column: 'memory_usage', aggs: ['avg', 'min', 'max', 'p95'] },
  { column: 'disk_usage', aggs: ['avg', 'min', 'max'] },
  { column: 'load_average_1m', aggs: ['avg', 'min', 'max', 'p95'] },
  { column: 'load_average_5m', aggs: ['avg', 'max'] },
  { column: 'load_average_15m', aggs: ['avg', 'max'] },
  // Sensors are optional: averages are weighted by temperature_samples.
  { column: 'temperature', aggs: ['avg', 'min', 'max'], nullable: true },
];

/** Every rollup column after agent_id and bucket, in table order. */
export const METRIC_ROLLUP_COLUMNS: readonly string[] = rollupColumnsOf(METRIC_COLUMNS);

type MetricColumn = (typeof METRIC_COLUMNS)[number];

/** The rollup columns that hold `columns`' aggregates, after `samples`. */
function rollupColumnsOf(columns: readonly MetricColumn[]): string[] {
  return ['samples', ...columns.flatMap((c) => [...(c.nullable ? [`${c.column}_samples`] : []), ...c.aggs.map((a) => `${c.column}_${a}`)])];
}

const rawAgg = (column: string, agg: MetricAgg) =>
  agg === 'p95' ? `percentile_cont(0.95) WITHIN GROUP (ORDER BY ${column})` : `${agg}(${column})`;

/** `count(*)::int AS samples, avg(cpu_usage) AS cpu_usage_avg, …` over raw rows. */
export function rawMetricAggregates(alias = '', columns: readonly MetricColumn[] = METRIC_COLUMNS): string {
  const col = (c: string) => `${alias}${c}`;
  return [
    'count(*)::int AS samples',
    ...columns.flatMap((c) => [
      ...(c.nullable ? [`count(${col(c.column)})::int AS ${c.column}_samples`] : []),
      ...c.aggs.map((a) => `${rawAgg(col(c.column), a)}::${a === 'min' || a === 'max' ? 'real' : 'float8'} AS ${c.column}_${a}`),
    ]),
  ].join(',\n       ');
}

/**
 * Several rollup rows → one: exact for samples, avg, min and max; the p95 of
 * a union of buckets is not a function of their p95s, so it is approximated
 * by their sample-weighted mean (the API says so: p95 "approximate").
 */
export function mergedMetricAggregates(columns: readonly MetricColumn[] = METRIC_COLUMNS): string {
  return [
    'sum(samples)::int AS samples',
    ...columns.flatMap((c) => {
      const weight = c.nullable ? `${c.column}_samples` : 'samples';
      return [
        ...(c.nullable ? [`sum(${c.column}_samples)::int AS ${c.column}_samples`] : []),
        ...c.aggs.map((a) =>
          a === 'min' || a === 'max'
            ? `${a}(${c.column}_${a})::real AS ${c.column}_${a}`
            : `(sum(${c.column}_${a} * ${weight}) / nullif(sum(${weight}), 0))::float8 AS ${c.column}_${a}`,
        ),
      ];
    }),
  ].join(',\n       ');
}

/** Rollup rows read as they are (one rollup bucket per step), with the types the other shapes return. */
export function directMetricColumns(columns: readonly MetricColumn[] = METRIC_COLUMNS): string {
  return rollupColumnsOf(columns).map((c) =>
    c === 'samples' || c.endsWith('_samples') ? `${c}::int AS ${c}` : `${c}::${/_(min|max)$/.test(c) ? 'real' : 'float8'} AS ${c}`,
  ).join(', ');
}

const upsertSet = (columns: readonly string[]) => columns.map((c) => `${c} = EXCLUDED.${c}`).join(', ');

const METRIC_LEVELS = [
  { table: 'agent_metrics_5m', width: `INTERVAL '5 minutes'` },
  { table: 'agent_metrics_1h', width: `INTERVAL '1 hour'` },
] as const;

// The keys are 5-minute buckets; each level recomputes the buckets of its
// own width that contain them.
const keysAt = (width: string) =>
  `(SELECT DISTINCT agent_id, date_bin(${width}, bucket, ${ORIGIN_SQL}) AS bucket
    FROM unnest($1::text[], $2::timestamptz[]) AS u(agent_id, bucket)) k`;

// Each key's raw rows are aggregated in a LATERAL subquery: one primary-key
// range scan per key, in the one partition that holds it (run-time
// pruning), whatever the planner guesses about the size of the key array.
function refreshMetricLevelSql(level: (typeof METRIC_LEVELS)[number]): string {
  return `INSERT INTO ${level.table} (agent_id, bucket, ${METRIC_ROLLUP_COLUMNS.join(', ')})
     SELECT k.agent_id, k.bucket, ${METRIC_ROLLUP_COLUMNS.map((c) => `a.${c}`).join(', ')}
     FROM ${keysAt(level.width)}
     CROSS JOIN LATERAL (
       SELECT ${rawMetricAggregates()}
       FROM agent_metrics
       WHERE agent_id = k.agent_id AND ts >= k.bucket AND ts < k.bucket + ${level.width}) a
     WHERE a.samples > 0
     ON CONFLICT (agent_id, bucket) DO UPDATE SET ${upsertSet(METRIC_ROLLUP_COLUMNS)}`;
}

/**
 * The hourly rollups of service_status and agent_polls: per agent, one row
 * per `key` (service name, tier) and hour. Both are written two ways, from
 * the same aggregates: per invalidated key (refresh) and set-based (rebuild).
 */
const HOURLY_ROLLUPS = [
  {
    source: 'service_status',
    table: 'service_status_1h',
    key: 'service_name',
    columns: ['samples', 'running_samples', 'stopped_samples', 'error_samples', 'cpu_percent_avg', 'cpu_percent_max', 'memory_bytes_max'],
    aggregates: `count(*)::int AS samples, count(*) FILTER (WHERE r.status = 'running')::int AS running_samples,
       count(*) FILTER (WHERE r.status = 'stopped')::int AS stopped_samples, count(*) FILTER (WHERE r.status = 'error')::int AS error_samples,
       avg(r.cpu_percent)::float8 AS cpu_percent_avg, max(r.cpu_percent) AS cpu_percent_max, max(r.memory_bytes) AS memory_bytes_max`,
  },
  {
    source: 'agent_polls',
    table: 'agent_polls_1h',
    key: 'tier',
    columns: ['polls', 'ok_polls', 'duration_ms_avg', 'duration_ms_max'],
    aggregates: `count(*)::int AS polls, count(*) FILTER (WHERE r.ok)::int AS ok_polls,
       avg(r.duration_ms)::float8 AS duration_ms_avg, max(r.duration_ms) AS duration_ms_max`,
  },
] as const;

type HourlyRollup = (typeof HOURLY_ROLLUPS)[number];

const hourlyInsert = (h: HourlyRollup) => `INSERT INTO ${h.table} (agent_id, ${h.key}, bucket, ${h.columns.join(', ')})`;
const hourlyUpsert = (h: HourlyRollup) => `ON CONFLICT (agent_id, ${h.key}, bucket) DO UPDATE SET ${upsertSet(h.columns)}`;

/** Recomputes the invalidated (agent, hour) keys ($1 agents, $2 buckets) from raw rows. */
function refreshHourlySql(h: HourlyRollup): string {
  return `${hourlyInsert(h)}
     SELECT k.agent_id, a.${h.key}, k.bucket, ${h.columns.map((c) => `a.${c}`).join(', ')}
     FROM ${keysAt(`INTERVAL '1 hour'`)}
     CROSS JOIN LATERAL (
       SELECT r.${h.key}, ${h.aggregates}
       FROM ${h.source} r
       WHERE r.agent_id = k.agent_id AND r.ts >= k.bucket AND r.ts < k.bucket + INTERVAL '1 hour'
       GROUP BY r.${h.key}) a
     ${hourlyUpsert(h)}`;
}

/** Recomputes every hour in [$1, $2) from raw rows, set-based. */
function rebuildHourlySql(h: HourlyRollup): string {
  return `${hourlyInsert(h)}
     SELECT r.agent_id, r.${h.key}, date_bin(INTERVAL '1 hour', r.ts, ${ORIGIN_SQL}),
       ${h.aggregates}
     FROM ${h.source} r WHERE r.ts >= $1 AND r.ts < $2
     GROUP BY 1, 2, 3
     ${hourlyUpsert(h)}`;
}

// One drain at a time across collectors; see refreshRollups.
const ROLLUP_LOCK = '7277461225';

export interface RollupRefresh {
  /** Invalidated (source, agent, 5-minute bucket) keys processed. */
  keys: number;
  batches: number;
  /** Keys still queued when the batch budget ran out (picked up by the next drain). */
  pending: boolean;
}

type Key = { source: 'agent_metrics' | 'service_status' | 'agent_polls'; agent_id: string; bucket: Date };

async function recompute(q: Queryable, keys: readonly Key[]): Promise<void> {
  for (const source of ['agent_metrics', 'service_status', 'agent_polls'] as const) {
    const mine = keys.filter((k) => k.source === source);
    if (mine.length === 0) continue;
    const values = [mine.map((k) => k.agent_id), mine.map((k) => new Date(k.bucket).toISOString())];
    if (source === 'agent_metrics') {
      for (const level of METRIC_LEVELS) await q.query(refreshMetricLevelSql(level), values);
    } else {
      await q.query(refreshHourlySql(HOURLY_ROLLUPS.find((h) => h.source === source)!), values);
    }
  }
}

/**
 * Drains rollup_invalidations in batches, recomputing each batch's buckets
 * from raw rows in the transaction that deletes its keys. The advisory lock
 * serialises drains, and each recompute statement takes its snapshot after
 * the lock is granted (READ COMMITTED), so it sees every raw row whose
 * invalidation it is processing; a write that commits later leaves a key of
 * its own for the next drain. A no-op under TimescaleDB (no triggers there).
 */
export async function refreshRollups(db: Db, opts: { batchSize?: number; maxBatches?: number } = {}): Promise<RollupRefresh> {
  const batchSize = opts.batchSize ?? 2000;
  const maxBatches = opts.maxBatches ?? 50;
  let keys = 0;
  let batches = 0;
  for (;;) {
    const n = await db.transaction(async (q) => {
      await q.query('SELECT pg_advisory_xact_lock($1::bigint)', [ROLLUP_LOCK]);
      // Over 30 daily partitions the planner's cost estimate crosses
      // jit_above_cost, and JIT compilation took 1.8 s of the 1.9 s that
      // recomputing one hour for 200 agents needed; without it, a whole
      // 200-agent tick refreshes in about 60 ms (BENCHMARKS.md, Store).
      // PGlite has no JIT and ignores the setting.
      await q.query('SET LOCAL jit = off');
      const { rows } = await q.query<Key>(
        `WITH picked AS (
           SELECT source, agent_id, bucket FROM rollup_invalidations ORDER BY source, agent_id, bucket LIMIT $1)
         DELETE FROM rollup_invalidations r USING picked p
         WHERE r.source = p.source AND r.agent_id = p.agent_id AND r.bucket = p.bucket
         RETURNING r.source, r.agent_id, r.bucket`,
        [batchSize],
      );
      await recompute(q, rows);
      return rows.length;
    });
    keys += n;
    if (n > 0) batches += 1;
    if (n < batchSize) return { keys, batches, pending: false };
    if (batches >= maxBatches) return { keys, batches, pending: true };
  }
}

/**
 * Recomputes every rollup bucket in [from, to) from raw rows in one
 * set-based pass per table (bulk loads, restores). Bounds must be whole hours.
 */
export async function rebuildRollups(q: Queryable, from: Date, to: Date): Promise<void> {
  if (from.getTime() % 3_600_000 !== 0 || to.getTime() % 3_600_000 !== 0) throw new Error('rebuildRollups: from and to must be whole hours');
  const range = [from.toISOString(), to.toISOString()];
  for (const level of METRIC_LEVELS) {
    await q.query(
      `INSERT INTO ${level.table} (agent_id, bucket, ${METRIC_ROLLUP_COLUMNS.join(', ')})
       SELECT agent_id, date_bin(${level.width}, ts, ${ORIGIN_SQL}),
         ${rawMetricAggregates()}
       FROM agent_metrics WHERE ts >= $1 AND ts < $2
       GROUP BY 1, 2
       ON CONFLICT (agent_id, bucket) DO UPDATE SET ${upsertSet(METRIC_ROLLUP_COLUMNS)}`,
      range,
    );
  }
  for (const h of HOURLY_ROLLUPS) await q.query(rebuildHourlySql(h), range);
  // Queued invalidations for this range are left alone: draining them later
  // recomputes the same values, and deleting them here could drop one of a
  // write that committed after these statements read the raw rows.
}
