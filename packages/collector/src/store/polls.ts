import type { Queryable } from './db';

export type Tier = 'metrics' | 'services' | 'inventory';

export interface PollRecord {
  agentId: string;
  tier: Tier;
  /** When the poll started, by the collector's clock. */
  startedAt: Date;
  durationMs: number;
  ok: boolean;
  errorCode: string | null;
  errorMessage: string | null;
  hostname: string | null;
  /** Agent sample time minus collector time, when the poll returned a sample. */
  clockSkewMs?: number | null;
}

/** Appends poll history and updates each agent's last-poll columns, one statement each. */
export async function recordPolls(q: Queryable, polls: readonly PollRecord[]): Promise<void> {
  if (polls.length === 0) return;
  await q.query(
    `INSERT INTO agent_polls (agent_id, ts, tier, ok, duration_ms, error_code, error_message, clock_skew_ms)
     SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::boolean[], $5::real[], $6::text[], $7::text[], $8::real[])
     ON CONFLICT DO NOTHING`,
    [
      polls.map((p) => p.agentId),
      polls.map((p) => p.startedAt.toISOString()),
      polls.map((p) => p.tier),
      polls.map((p) => p.ok),
      polls.map((p) => p.durationMs),
      polls.map((p) => p.errorCode),
      polls.map((p) => p.errorMessage),
      polls.map((p) => p.clockSkewMs ?? null),
    ],
  );
  await q.query(
    `UPDATE agents a SET
       last_poll_at = u.ts, last_poll_tier = u.tier, last_poll_ok = u.ok,
       last_poll_error = CASE WHEN u.ok THEN NULL ELSE u.error_code || ': ' || u.error_message END,
       last_seen_at = CASE WHEN u.ok THEN u.ts ELSE a.last_seen_at END,
       hostname = COALESCE(u.hostname, a.hostname)
     FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::boolean[], $5::text[], $6::text[], $7::text[])
       AS u(agent_id, ts, tier, ok, error_code, error_message, hostname)
     WHERE a.id = u.agent_id`,
    [
      polls.map((p) => p.agentId),
      polls.map((p) => p.startedAt.toISOString()),
      polls.map((p) => p.tier),
      polls.map((p) => p.ok),
      polls.map((p) => p.errorCode),
      polls.map((p) => p.errorMessage),
      polls.map((p) => p.hostname),
    ],
  );
}
