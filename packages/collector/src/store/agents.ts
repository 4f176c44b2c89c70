import type { AgentTarget } from '../config';
import type { Queryable } from './db';

export interface DbAgent {
  id: string;
  base_url: string;
  source: string;
  hostname: string | null;
  created_at: Date;
  last_seen_at: Date | null;
  last_poll_at: Date | null;
  last_poll_tier: string | null;
  last_poll_ok: boolean | null;
  last_poll_error: string | null;
  state: 'unknown' | 'ok' | 'unreachable';
  unreachable_reason: string | null;
  consecutive_failures: number;
  next_attempt_at: Date | null;
  clock_skew_ms: number | null;
}

export interface AgentSummary {
  id: string;
  baseUrl: string;
  source: string;
  hostname: string | null;
  lastSeenAt: string | null;
  lastPoll: { at: string; tier: string; ok: boolean; error: string | null } | null;
  /** Fleet health: unreachable (with the reason) after a failed poll, until the next success. */
  health: { state: string; reason: string | null; consecutiveFailures: number; nextAttemptAt: string | null; clockSkewMs: number | null };
  latest: {
    ts: string;
    cpuUsage: number;
    memoryUsage: number;
    diskUsage: number;
    loadAverage1m: number;
  } | null;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** Registers (or updates the URL of) the agents named in config. */
export async function upsertAgents(q: Queryable, agents: readonly AgentTarget[], source = 'config'): Promise<void> {
  if (agents.length === 0) return;
  await q.query(
    `INSERT INTO agents (id, base_url, source)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
     ON CONFLICT (id) DO UPDATE
       SET base_url = EXCLUDED.base_url, source = EXCLUDED.source, updated_at = now()
       WHERE agents.base_url IS DISTINCT FROM EXCLUDED.base_url OR agents.source IS DISTINCT FROM EXCLUDED.source`,
    [agents.map((a) => a.id), agents.map((a) => a.baseUrl), agents.map(() => source)],
  );
}

type AgentRow = DbAgent & {
  m_ts: Date | null;
  cpu_usage: number | null;
  memory_usage: number | null;
  disk_usage: number | null;
  load_average_1m: number | null;
};

function toSummary(r: AgentRow): AgentSummary {
  return {
    id: r.id,
    baseUrl: r.base_url,
    source: r.source,
    hostname: r.hostname,
    lastSeenAt: iso(r.last_seen_at),
    lastPoll:
      r.last_poll_at === null
        ? null
        : { at: iso(r.last_poll_at)!, tier: r.last_poll_tier!, ok: Boolean(r.last_poll_ok), error: r.last_poll_error },
    health: {
      state: r.state ?? 'unknown',
      reason: r.unreachable_reason ?? null,
      consecutiveFailures: r.consecutive_failures ?? 0,
      nextAttemptAt: iso(r.next_attempt_at ?? null),
      clockSkewMs: r.clock_skew_ms ?? null,
    },
    latest:
      r.m_ts === null
        ? null
        : {
            ts: iso(r.m_ts)!,
            cpuUsage: Number(r.cpu_usage),
            memoryUsage: Number(r.memory_usage),
            diskUsage: Number(r.disk_usage),
            loadAverage1m: Number(r.load_average_1m),
          },
  };
}

const SELECT_AGENTS = `
  SELECT a.*, m.ts AS m_ts, m.cpu_usage, m.memory_usage, m.disk_usage, m.load_average_1m
  FROM agents a
  LEFT JOIN LATERAL (
    SELECT ts, cpu_usage, memory_usage, disk_usage, load_average_1m
    FROM agent_metrics WHERE agent_id = a.id ORDER BY ts DESC LIMIT 1
  ) m ON true`;

export async function listAgents(q: Queryable): Promise<AgentSummary[]> {
  const { rows } = await q.query<AgentRow>(`${SELECT_AGENTS} ORDER BY a.id`);
  return rows.map(toSummary);
}

export async function getAgent(q: Queryable, id: string): Promise<AgentSummary | null> {
  const { rows } = await q.query<AgentRow>(`${SELECT_AGENTS} WHERE a.id = $1`, [id]);
  return rows[0] ? toSummary(rows[0]) : null;
}
