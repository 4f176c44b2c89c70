import type { Queryable } from './db';
import { directMetricColumns, mergedMetricAggregates, METRIC_COLUMNS, METRIC_ROLLUP_COLUMNS, rawMetricAggregates } from './rollups';
import { ORIGIN_SQL } from '../timeseries/time';
import type { TrendPlan } from '../timeseries/trendPlan';

/**
 * Bucketed series for the trend API, read from the source the plan chose:
 *
 *   raw     date_bin over agent_metrics rows (steps that are not whole 5 min)
 *   direct  one rollup row per step (step = the rollup's bucket)
 *   merged  several rollup rows per step, combined exactly (samples, avg,
 *           min, max) or approximately (p95)
 *
 * All three return the same columns with the same types, on both storage
 * modes (the rollups are tables or continuous aggregates of the same shape).
 */
export type DbMetricBucket = { bucket: Date; samples: number } & Record<string, number | null>;

type Shape = 'raw' | 'direct' | 'merged';

const shapeOf = (plan: TrendPlan): Shape =>
  plan.source.bucketSeconds === 0 ? 'raw' : plan.source.bucketSeconds === plan.stepSeconds ? 'direct' : 'merged';

/**
 * The per-bucket SELECT. `agents`: 'one' filters on $1 = agent id, 'some' on
 * $1 = text[] of ids, 'all' on nothing ($1 is then unused and not sent).
 * Returns the text and the parameter values after the filter.
 */
function metricBucketsSql(
  plan: TrendPlan,
  agents: 'one' | 'some' | 'all',
  byAgent: boolean,
  columns: MetricColumns = METRIC_COLUMNS,
): { text: string; params: unknown[] } {
  const shape = shapeOf(plan);
  const table = plan.source.table;
  const time = shape === 'raw' ? 'ts' : 'bucket';
  const p = agents === 'all' ? 0 : 1; // parameter offset
  const where = [
    agents === 'one' ? 'agent_id = $1' : agents === 'some' ? 'agent_id = ANY($1::text[])' : null,
    `${time} >= $${p + 1}`,
    `${time} < $${p + 2}`,
  ]
    .filter(Boolean)
    .join(' AND ');
  const params: unknown[] = [plan.from.toISOString(), plan.to.toISOString()];
  const agentCol = byAgent ? 'agent_id, ' : '';
  const groupBy = byAgent ? 'GROUP BY 1, 2' : 'GROUP BY 1';
  if (shape === 'direct') {
    return { text: `SELECT ${agentCol}bucket, ${directMetricColumns(columns)} FROM ${table} WHERE ${where}`, params };
  }
  params.push(plan.stepSeconds);
  const bucket = `date_bin(make_interval(secs => $${p + 3}), ${time}, ${ORIGIN_SQL}) AS bucket`;
  const aggregates = shape === 'raw' ? rawMetricAggregates('', columns) : mergedMetricAggregates(columns);
  return { text: `SELECT ${agentCol}${bucket},\n       ${aggregates}\n     FROM ${table} WHERE ${where} ${groupBy}`, params };
}

/** Which metrics a series carries (all by default): a chart of one metric reads a quarter of the columns. */
export type MetricColumns = typeof METRIC_COLUMNS;

/** The statement selectAgentTrend runs: $1 is the agent id, `params` follow (also for EXPLAIN in bench/store). */
export function agentTrendSql(plan: TrendPlan, columns: MetricColumns = METRIC_COLUMNS): { text: string; params: unknown[] } {
  const { text, params } = metricBucketsSql(plan, 'one', false, columns);
  return { text: `${text} ORDER BY 1`, params };
}

/** One agent's series, one row per bucket that has data, in time order. */
export async function selectAgentTrend(q: Queryable, agentId: string, plan: TrendPlan, columns: MetricColumns = METRIC_COLUMNS): Promise<DbMetricBucket[]> {
  const { text, params } = agentTrendSql(plan, columns);
  const { rows } = await q.query<DbMetricBucket>(text, [agentId, ...params]);
  return rows;
}

/** The metrics the fleet series summarises. */
export const FLEET_COLUMNS = ['cpu_usage', 'memory_usage', 'disk_usage', 'load_average_1m'] as const;

export type DbFleetBucket = { bucket: Date; agents: number; samples: number } & Record<string, number | null>;

/**
 * The fleet's series: per bucket, how many agents reported, the mean over
 * all their samples, the highest sample of any agent, and the 95th
 * percentile across agents of each agent's bucket mean ("the 5 % busiest
 * agents are above this"): exact at every step, since an agent's bucket mean
 * is exact from any source.
 */
export async function selectFleetTrend(q: Queryable, agentIds: readonly string[] | null, plan: TrendPlan): Promise<DbFleetBucket[]> {
  const { text, params } = metricBucketsSql(plan, agentIds ? 'some' : 'all', true);
  const fleet = FLEET_COLUMNS.flatMap((c) => [
    `(sum(${c}_avg * samples) / sum(samples))::float8 AS ${c}_avg`,
    `max(${c}_max)::real AS ${c}_max`,
    `percentile_cont(0.95) WITHIN GROUP (ORDER BY ${c}_avg)::float8 AS ${c}_p95`,
  ]);
  const { rows } = await q.query<DbFleetBucket>(
    `WITH per_agent AS (${text})
     SELECT bucket, count(*)::int AS agents, sum(samples)::int AS samples,
       ${fleet.join(',\n       ')}
     FROM per_agent GROUP BY bucket ORDER BY bucket`,
    agentIds ? [agentIds, ...params] : params,
  );
  return rows;
}

export interface DbServiceBucket {
  service_name: string;
  bucket: Date;
  samples: number;
  running_samples: number;
  stopped_samples: number;
  error_samples: number;
}

/** Per service and bucket, how many samples saw it running, stopped or in error. Exact from either source. */
export async function selectServiceHistory(q: Queryable, agentId: string, service: string | null, plan: TrendPlan): Promise<DbServiceBucket[]> {
  const raw = plan.source.bucketSeconds === 0;
  const time = raw ? 'ts' : 'bucket';
  const counts = raw
    ? `count(*)::int AS samples,
       count(*) FILTER (WHERE status = 'running')::int AS running_samples,
       count(*) FILTER (WHERE status = 'stopped')::int AS stopped_samples,
       count(*) FILTER (WHERE status = 'error')::int AS error_samples`
    : `sum(samples)::int AS samples, sum(running_samples)::int AS running_samples,
       sum(stopped_samples)::int AS stopped_samples, sum(error_samples)::int AS error_samples`;
  const { rows } = await q.query<DbServiceBucket>(
    `SELECT service_name, date_bin(make_interval(secs => $4), ${time}, ${ORIGIN_SQL}) AS bucket,
       ${counts}
     FROM ${plan.source.table}
     WHERE agent_id = $1 AND ${time} >= $2 AND ${time} < $3 ${service === null ? '' : 'AND service_name = $5'}
     GROUP BY 1, 2 ORDER BY 1, 2`,
    [agentId, plan.from.toISOString(), plan.to.toISOString(), plan.stepSeconds, ...(service === null ? [] : [service])],
  );
  return rows;
}

/** Whether an agent has ever reported a service (raw rows or its hourly rollup). */
export async function serviceExists(q: Queryable, agentId: string, service: string): Promise<boolean> {
  const { rows } = await q.query<{ found: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM service_status WHERE agent_id = $1 AND service_name = $2)
         OR EXISTS (SELECT 1 FROM service_status_1h WHERE agent_id = $1 AND service_name = $2) AS found`,
    [agentId, service],
  );
  return Boolean(rows[0]?.found);
}

/** The metric columns every bucket row carries, in API order. */
export const METRIC_BUCKET_COLUMNS = METRIC_ROLLUP_COLUMNS;
