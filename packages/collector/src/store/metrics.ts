import type { Queryable } from './db';

export interface MetricRow {
  agentId: string;
  ts: string;
  cpuUsage: number;
  memoryUsage: number;
  diskUsage: number;
  load1: number;
  load5: number;
  load15: number;
  uptimeSeconds: number;
  temperature: number | null;
}

/** One round trip for the whole tier; (agent_id, ts) makes a retry a no-op. */
export async function insertMetrics(q: Queryable, rows: readonly MetricRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const { rows: inserted } = await q.query<{ n: number }>(
    `WITH ins AS (
       INSERT INTO agent_metrics (agent_id, ts, cpu_usage, memory_usage, disk_usage,
                                  load_average_1m, load_average_5m, load_average_15m, uptime_seconds, temperature)
       SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::real[], $4::real[], $5::real[],
                            $6::real[], $7::real[], $8::real[], $9::bigint[], $10::real[])
       ON CONFLICT DO NOTHING
       RETURNING 1)
     SELECT count(*)::int AS n FROM ins`,
    [
      rows.map((r) => r.agentId),
      rows.map((r) => r.ts),
      rows.map((r) => r.cpuUsage),
      rows.map((r) => r.memoryUsage),
      rows.map((r) => r.diskUsage),
      rows.map((r) => r.load1),
      rows.map((r) => r.load5),
      rows.map((r) => r.load15),
      rows.map((r) => r.uptimeSeconds),
      rows.map((r) => r.temperature),
    ],
  );
  return Number(inserted[0]?.n ?? 0);
}

export interface DbMetricPoint {
  ts: Date;
  cpu_usage: number;
  memory_usage: number;
  disk_usage: number;
  load_average_1m: number;
  load_average_5m: number;
  load_average_15m: number;
  uptime_seconds: string | number;
  temperature: number | null;
}

export async function selectMetrics(q: Queryable, agentId: string, from: Date, to: Date, limit: number): Promise<DbMetricPoint[]> {
  const { rows } = await q.query<DbMetricPoint>(
    `SELECT ts, cpu_usage, memory_usage, disk_usage, load_average_1m, load_average_5m, load_average_15m,
            uptime_seconds, temperature
     FROM agent_metrics WHERE agent_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts LIMIT $4`,
    [agentId, from.toISOString(), to.toISOString(), limit],
  );
  return rows;
}
