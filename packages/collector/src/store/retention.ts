import type { Queryable } from './db';

/**
 * Every time-series table and its time column. Identifiers come from this
 * constant, never from input.
 */
export const TIME_SERIES_TABLES = [
  { table: 'agent_metrics', column: 'ts' },
  { table: 'service_status', column: 'ts' },
  { table: 'system_inventory', column: 'ts' },
  { table: 'disk_usage', column: 'ts' },
  { table: 'network_stats', column: 'ts' },
  { table: 'agent_polls', column: 'ts' },
  // Sessions are kept while open; closed ones age out by when they closed.
  { table: 'container_sessions', column: 'stopped_at' },
] as const;

export type PrunedCounts = Record<(typeof TIME_SERIES_TABLES)[number]['table'], number>;

/** Deletes rows older than cutoff from every time-series table. */
export async function deleteOlderThan(q: Queryable, cutoff: Date): Promise<PrunedCounts> {
  const counts = {} as PrunedCounts;
  for (const { table, column } of TIME_SERIES_TABLES) {
    const { rows } = await q.query<{ n: number }>(
      `WITH d AS (DELETE FROM ${table} WHERE ${column} < $1 RETURNING 1) SELECT count(*)::int AS n FROM d`,
      [cutoff.toISOString()],
    );
    counts[table] = Number(rows[0]?.n ?? 0);
  }
  return counts;
}
