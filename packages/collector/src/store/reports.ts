import type { Queryable } from './db';

/**
 * Per-agent report over a period [from, to) whose bounds are UTC midnights,
 * read from rollups only, so a month of a large fleet is a few thousand rows
 * per agent instead of millions:
 *
 *   cpu/memory/load avg   sample-weighted mean (exact)
 *   … max                 highest sample (exact)
 *   … p95                 95th percentile of the 5-minute averages, the usual
 *                         convention for period percentiles (it is exact
 *                         given that definition, and needs agent_metrics_5m
 *                         to still cover the period)
 *   availability          ok / all metrics-tier polls (agent_polls_1h)
 *   incidents             alert incidents opened in the period
 */
export interface DbReportRow {
  agent_id: string;
  samples: number | null;
  cpu_usage_avg: number | null;
  cpu_usage_p95: number | null;
  cpu_usage_max: number | null;
  memory_usage_avg: number | null;
  memory_usage_p95: number | null;
  memory_usage_max: number | null;
  load_average_1m_avg: number | null;
  load_average_1m_p95: number | null;
  load_average_1m_max: number | null;
  polls: number | null;
  ok_polls: number | null;
  incidents: number;
}

export const REPORT_METRICS = ['cpu_usage', 'memory_usage', 'load_average_1m'] as const;

export async function selectReport(q: Queryable, agentIds: readonly string[], from: Date, to: Date): Promise<DbReportRow[]> {
  const metrics = REPORT_METRICS.flatMap((c) => [
    `(sum(${c}_avg * samples) / nullif(sum(samples), 0))::float8 AS ${c}_avg`,
    `percentile_cont(0.95) WITHIN GROUP (ORDER BY ${c}_avg)::float8 AS ${c}_p95`,
    `max(${c}_max)::real AS ${c}_max`,
  ]);
  const { rows } = await q.query<DbReportRow>(
    `WITH m AS (
       SELECT agent_id, sum(samples)::int AS samples,
         ${metrics.join(',\n         ')}
       FROM agent_metrics_5m
       WHERE agent_id = ANY($1::text[]) AND bucket >= $2 AND bucket < $3
       GROUP BY agent_id),
     p AS (
       SELECT agent_id, sum(polls)::int AS polls, sum(ok_polls)::int AS ok_polls
       FROM agent_polls_1h
       WHERE agent_id = ANY($1::text[]) AND tier = 'metrics' AND bucket >= $2 AND bucket < $3
       GROUP BY agent_id),
     i AS (
       SELECT agent_id, count(*)::int AS incidents
       FROM incidents
       WHERE agent_id = ANY($1::text[]) AND opened_at >= $2 AND opened_at < $3
       GROUP BY agent_id)
     SELECT a.agent_id, m.samples, ${REPORT_METRICS.flatMap((c) => [`m.${c}_avg`, `m.${c}_p95`, `m.${c}_max`]).join(', ')},
            p.polls, p.ok_polls, coalesce(i.incidents, 0) AS incidents
     FROM unnest($1::text[]) AS a(agent_id)
     LEFT JOIN m USING (agent_id) LEFT JOIN p USING (agent_id) LEFT JOIN i USING (agent_id)
     ORDER BY a.agent_id`,
    [agentIds, from.toISOString(), to.toISOString()],
  );
  return rows;
}

export interface DbServiceReportRow {
  agent_id: string;
  service_name: string;
  samples: number;
  running_samples: number;
}

/** Per agent and service: samples in the period and how many saw it running. */
export async function selectServiceReport(q: Queryable, agentIds: readonly string[], from: Date, to: Date): Promise<DbServiceReportRow[]> {
  const { rows } = await q.query<DbServiceReportRow>(
    `SELECT agent_id, service_name, sum(samples)::int AS samples, sum(running_samples)::int AS running_samples
     FROM service_status_1h
     WHERE agent_id = ANY($1::text[]) AND bucket >= $2 AND bucket < $3
     GROUP BY 1, 2 ORDER BY 1, 2`,
    [agentIds, from.toISOString(), to.toISOString()],
  );
  return rows;
}

/** The registered agents among `ids` (all of them when ids is null), sorted. */
export async function selectAgentIds(q: Queryable, ids: readonly string[] | null): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    ids === null ? 'SELECT id FROM agents ORDER BY id' : 'SELECT id FROM agents WHERE id = ANY($1::text[]) ORDER BY id',
    ids === null ? [] : [ids],
  );
  return rows.map((r) => r.id);
}
