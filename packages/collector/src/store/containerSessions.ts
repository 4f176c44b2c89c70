import type { Queryable } from './db';

export interface ContainerRow {
  agentId: string;
  /** The agent's sample time. */
  ts: string;
  containerId: string;
  name: string;
  image: string;
  username: string | null;
  sessionId: string | null;
  port: number | null;
  status: string;
  managed: boolean;
  createdAt: string;
}

// Docker states after which a session no longer serves its user.
const STOPPED = `('exited', 'dead', 'removing', 'removed')`;

/**
 * Upserts the containers each agent reported, and closes the sessions of
 * containers that agent no longer reports. `stopped_at` is set once, when a
 * session is first seen stopped or gone, and cleared if it runs again.
 */
export async function syncContainerSessions(
  q: Queryable,
  polled: ReadonlyArray<{ agentId: string; ts: string }>,
  rows: readonly ContainerRow[],
): Promise<void> {
  if (polled.length === 0) return;
  if (rows.length > 0) {
    await q.query(
      `INSERT INTO container_sessions AS cs (agent_id, container_id, name, image, username, session_id, port, status,
                                             managed, created_at, first_seen_at, last_seen_at, stopped_at)
       SELECT u.agent_id, u.container_id, u.name, u.image, u.username, u.session_id, u.port, u.status,
              u.managed, u.created_at, u.ts, u.ts, CASE WHEN u.status IN ${STOPPED} THEN u.ts END
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[],
                   $9::boolean[], $10::timestamptz[], $11::timestamptz[])
         AS u(agent_id, container_id, name, image, username, session_id, port, status, managed, created_at, ts)
       ON CONFLICT (agent_id, container_id) DO UPDATE SET
         status = EXCLUDED.status,
         port = EXCLUDED.port,
         name = EXCLUDED.name,
         last_seen_at = GREATEST(cs.last_seen_at, EXCLUDED.last_seen_at),
         stopped_at = CASE
           WHEN EXCLUDED.status NOT IN ${STOPPED} THEN NULL
           ELSE COALESCE(cs.stopped_at, EXCLUDED.last_seen_at)
         END`,
      [
        rows.map((r) => r.agentId),
        rows.map((r) => r.containerId),
        rows.map((r) => r.name),
        rows.map((r) => r.image),
        rows.map((r) => r.username),
        rows.map((r) => r.sessionId),
        rows.map((r) => r.port),
        rows.map((r) => r.status),
        rows.map((r) => r.managed),
        rows.map((r) => r.createdAt),
        rows.map((r) => r.ts),
      ],
    );
  }
  await q.query(
    `UPDATE container_sessions cs
     SET status = 'removed', stopped_at = COALESCE(cs.stopped_at, p.ts)
     FROM unnest($1::text[], $2::timestamptz[]) AS p(agent_id, ts)
     WHERE cs.agent_id = p.agent_id AND cs.status <> 'removed'
       AND NOT EXISTS (
         SELECT 1 FROM unnest($3::text[], $4::text[]) AS s(agent_id, container_id)
         WHERE s.agent_id = cs.agent_id AND s.container_id = cs.container_id)`,
    [polled.map((p) => p.agentId), polled.map((p) => p.ts), rows.map((r) => r.agentId), rows.map((r) => r.containerId)],
  );
}
