import type { Queryable } from './db';

/**
 * Claims this tick of a singleton job (pg-boss timekeeper style): the UPDATE
 * succeeds for exactly one collector per interval, whoever gets there first.
 */
export async function claimJobTick(q: Queryable, name: string, minIntervalSeconds: number): Promise<boolean> {
  await q.query('INSERT INTO job_runs (name) VALUES ($1) ON CONFLICT DO NOTHING', [name]);
  const { rows } = await q.query(
    `UPDATE job_runs SET last_run_at = now()
     WHERE name = $1 AND last_run_at <= now() - make_interval(secs => $2)
     RETURNING name`,
    [name, minIntervalSeconds],
  );
  return rows.length === 1;
}
