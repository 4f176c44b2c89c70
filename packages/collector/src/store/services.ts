import type { Queryable } from './db';

export interface ServiceRow {
  agentId: string;
  ts: string;
  name: string;
  status: string;
  pid: number | null;
  cpuPercent: number | null;
  memoryBytes: number | null;
}

export async function insertServiceStatus(q: Queryable, rows: readonly ServiceRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const { rows: inserted } = await q.query<{ n: number }>(
    `WITH ins AS (
       INSERT INTO service_status (agent_id, ts, service_name, status, pid, cpu_percent, memory_bytes)
       SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::int[], $6::real[], $7::bigint[])
       ON CONFLICT DO NOTHING
       RETURNING 1)
     SELECT count(*)::int AS n FROM ins`,
    [
      rows.map((r) => r.agentId),
      rows.map((r) => r.ts),
      rows.map((r) => r.name),
      rows.map((r) => r.status),
      rows.map((r) => r.pid),
      rows.map((r) => r.cpuPercent),
      rows.map((r) => r.memoryBytes),
    ],
  );
  return Number(inserted[0]?.n ?? 0);
}

export interface DbLatestService {
  service_name: string;
  ts: Date;
  status: string;
  pid: number | null;
  cpu_percent: number | null;
  memory_bytes: string | number | null;
}

/** Each service's most recent row for one agent. */
export async function selectLatestServices(q: Queryable, agentId: string): Promise<DbLatestService[]> {
  const { rows } = await q.query<DbLatestService>(
    `SELECT DISTINCT ON (service_name) service_name, ts, status, pid, cpu_percent, memory_bytes
     FROM service_status WHERE agent_id = $1
     ORDER BY service_name, ts DESC`,
    [agentId],
  );
  return rows;
}
