import type { Queryable } from './db';

export interface LeaseClaim {
  /** Agents this collector holds after the claim, with their URLs. */
  owned: Array<{ id: string; base_url: string }>;
  liveCollectors: number;
  fairShare: number;
  claimed: number;
  released: number;
}

/** Marks this collector alive. */
export async function heartbeat(q: Queryable, collectorId: string): Promise<void> {
  await q.query(
    `INSERT INTO collectors (id) VALUES ($1)
     ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`,
    [collectorId],
  );
}

/**
 * One lease round for one collector, in one transaction (the caller's):
 * heartbeat, renew what it holds, give back what exceeds its fair share
 * (ceil(agents / live collectors)), then claim free or orphaned leases up to
 * the share. Claims use FOR UPDATE SKIP LOCKED, so collectors claiming at the
 * same moment take disjoint agents instead of waiting on each other. A lease
 * is orphaned when its collector's heartbeat is older than ttl: a dead
 * collector's agents are taken by the next live collector's tick.
 * Time is the database's now(), so collectors' clocks need not agree.
 */
export async function claimLeases(q: Queryable, collectorId: string, ttlMs: number): Promise<LeaseClaim> {
  await heartbeat(q, collectorId);
  // Every registered agent has a lease row (free until claimed).
  await q.query(
    `INSERT INTO agent_leases (agent_id)
     SELECT a.id FROM agents a WHERE NOT EXISTS (SELECT 1 FROM agent_leases l WHERE l.agent_id = a.id)
     ON CONFLICT DO NOTHING`,
  );
  const { rows: counts } = await q.query<{ agents: number; live: number }>(
    `SELECT (SELECT count(*)::int FROM agents) AS agents,
            (SELECT count(*)::int FROM collectors WHERE heartbeat_at > now() - make_interval(secs => $1)) AS live`,
    [ttlMs / 1000],
  );
  const agents = counts[0]!.agents;
  const live = Math.max(1, counts[0]!.live);
  const fairShare = Math.ceil(agents / live);

  const { rows: held } = await q.query<{ agent_id: string }>(
    `UPDATE agent_leases SET renewed_at = now() WHERE collector_id = $1 RETURNING agent_id`,
    [collectorId],
  );
  let released = 0;
  if (held.length > fairShare) {
    const { rows } = await q.query(
      `UPDATE agent_leases SET collector_id = NULL, renewed_at = NULL
       WHERE agent_id IN (SELECT agent_id FROM agent_leases WHERE collector_id = $1 ORDER BY agent_id DESC LIMIT $2)
       RETURNING agent_id`,
      [collectorId, held.length - fairShare],
    );
    released = rows.length;
  }
  let claimed = 0;
  const need = fairShare - (held.length - released);
  if (need > 0) {
    const { rows } = await q.query(
      `WITH free AS (
         SELECT l.agent_id FROM agent_leases l
         WHERE l.collector_id IS NULL
            OR (l.collector_id <> $1 AND NOT EXISTS (
                  SELECT 1 FROM collectors c
                  WHERE c.id = l.collector_id AND c.heartbeat_at > now() - make_interval(secs => $3)))
         ORDER BY l.agent_id
         LIMIT $2
         FOR UPDATE SKIP LOCKED)
       UPDATE agent_leases l SET collector_id = $1, renewed_at = now()
       FROM free WHERE l.agent_id = free.agent_id
       RETURNING l.agent_id`,
      [collectorId, need, ttlMs / 1000],
    );
    claimed = rows.length;
  }
  const { rows: owned } = await q.query<{ id: string; base_url: string }>(
    `SELECT a.id, a.base_url FROM agent_leases l JOIN agents a ON a.id = l.agent_id
     WHERE l.collector_id = $1 ORDER BY a.id`,
    [collectorId],
  );
  return { owned, liveCollectors: live, fairShare, claimed, released };
}

/** Graceful stop: frees this collector's leases and forgets it, so others take over at once. */
export async function releaseCollector(q: Queryable, collectorId: string): Promise<void> {
  await q.query('UPDATE agent_leases SET collector_id = NULL, renewed_at = NULL WHERE collector_id = $1', [collectorId]);
  await q.query('DELETE FROM collectors WHERE id = $1', [collectorId]);
}

/** Forgets collectors dead for long (housekeeping; their leases are already claimable). */
export async function pruneCollectors(q: Queryable, olderThanMs: number): Promise<void> {
  await q.query(`DELETE FROM collectors WHERE heartbeat_at < now() - make_interval(secs => $1)`, [olderThanMs / 1000]);
}
