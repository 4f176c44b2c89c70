import type { AgentTarget } from '../config';
import type { HealthUpdate } from '../fleet/agentHealth';
import type { Queryable } from './db';

// The fleet side of the agents table: health, runtime registration, and what
// backfill needs to know (the newest stored sample per agent).

/** Mirrors the in-memory health of the agents polled this tick, one statement. */
export async function updateAgentHealth(q: Queryable, updates: readonly HealthUpdate[]): Promise<void> {
  if (updates.length === 0) return;
  await q.query(
    `UPDATE agents a SET
       state = u.state, unreachable_reason = u.reason, consecutive_failures = u.failures,
       next_attempt_at = u.next_attempt_at, clock_skew_ms = COALESCE(u.clock_skew_ms, a.clock_skew_ms)
     FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[], $6::real[])
       AS u(agent_id, state, reason, failures, next_attempt_at, clock_skew_ms)
     WHERE a.id = u.agent_id`,
    [
      updates.map((u) => u.agentId),
      updates.map((u) => u.state),
      updates.map((u) => u.reason),
      updates.map((u) => u.failures),
      updates.map((u) => u.nextAttemptAt?.toISOString() ?? null),
      updates.map((u) => u.clockSkewMs),
    ],
  );
}

/** Newest agent_metrics timestamp per agent (index-only probe per agent, not a scan). */
export async function selectLastMetricTs(q: Queryable, agentIds: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (agentIds.length === 0) return out;
  const { rows } = await q.query<{ agent_id: string; ts: Date }>(
    `SELECT ids.agent_id, m.ts
     FROM unnest($1::text[]) AS ids(agent_id)
     JOIN LATERAL (SELECT ts FROM agent_metrics WHERE agent_id = ids.agent_id ORDER BY ts DESC LIMIT 1) m ON true`,
    [agentIds],
  );
  for (const r of rows) out.set(r.agent_id, new Date(r.ts).getTime());
  return out;
}

export interface DbAgentTarget {
  id: string;
  base_url: string;
  source: string;
}

/** Registers one agent at runtime; false when the id is taken. */
export async function insertAgent(q: Queryable, agent: AgentTarget, source: string): Promise<boolean> {
  const { rows } = await q.query(
    `INSERT INTO agents (id, base_url, source) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING RETURNING id`,
    [agent.id, agent.baseUrl, source],
  );
  return rows.length === 1;
}

/** Unregisters agents (their stored series stay: no foreign keys from time-series rows). */
export async function deleteAgents(q: Queryable, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<{ id: string }>('DELETE FROM agents WHERE id = ANY($1::text[]) RETURNING id', [ids]);
  return rows.map((r) => r.id);
}

/** Config-sourced agents no longer in the config (for reload). */
export async function selectConfigAgentIds(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(`SELECT id FROM agents WHERE source = 'config' ORDER BY id`);
  return rows.map((r) => r.id);
}
