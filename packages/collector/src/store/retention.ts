import type { Db, Queryable } from './db';
import { dropPartition, listPartitions, pruneDefaultPartition, storageMode, type PartitionedTable } from './partitions';
import { partitionsToDrop } from '../timeseries/partitionWindows';
import { retentionCutoffs, type RetentionPolicy, type RetentionTable } from '../timeseries/retentionPlan';

export interface TablePruned {
  cutoff: string;
  /** Rows removed by DELETE (small tables, rollups, the default partition). */
  rowsDeleted: number;
  /** Whole daily partitions dropped: O(1) each, however many rows they held. */
  partitionsDropped: string[];
  /** Partitions past the window left for the next run (their lock was busy). */
  partitionsDeferred: string[];
  /** Why the table was left alone (TimescaleDB prunes it itself). */
  skipped?: string;
}

export type RetentionResult = Record<RetentionTable, TablePruned>;

/** DELETE of rows older than the cutoff; table and column come from RETENTION_TABLES. */
async function deleteOlder(q: Queryable, table: string, column: string, cutoff: Date): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `WITH d AS (DELETE FROM ${table} WHERE ${column} < $1 RETURNING 1) SELECT count(*)::int AS n FROM d`,
    [cutoff.toISOString()],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Applies the retention policy at `now` to every managed table:
 * partitioned raw tables drop the daily partitions wholly past their window
 * and delete old rows from their default partition; small tables and the
 * rollups are pruned by DELETE. Under TimescaleDB the hypertables and
 * continuous aggregates are left to its retention policies.
 */
export async function pruneTables(db: Db, now: Date, policy: RetentionPolicy): Promise<RetentionResult> {
  const mode = await storageMode(db);
  const out = {} as RetentionResult;
  for (const t of retentionCutoffs(now, policy)) {
    const r: TablePruned = { cutoff: t.cutoff.toISOString(), rowsDeleted: 0, partitionsDropped: [], partitionsDeferred: [] };
    out[t.table] = r;
    if (mode === 'timescaledb' && t.kind !== 'delete') {
      r.skipped = 'pruned by its TimescaleDB retention policy';
    } else if (t.kind === 'partitioned') {
      const table = t.table as PartitionedTable;
      for (const p of partitionsToDrop(await listPartitions(db, table), t.cutoff)) {
        (await dropPartition(db, table, p.name) ? r.partitionsDropped : r.partitionsDeferred).push(p.name);
      }
      r.rowsDeleted = await pruneDefaultPartition(db, table, t.cutoff);
    } else {
      r.rowsDeleted = await deleteOlder(db, t.table, t.column, t.cutoff);
    }
  }
  return out;
}
