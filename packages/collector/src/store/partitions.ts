import type { Db, Queryable } from './db';
import { partitionsToCreate, type PartitionRange } from '../timeseries/partitionWindows';
import { RETENTION_TABLES, retentionDays, type RetentionPolicy } from '../timeseries/retentionPlan';

/**
 * The storage layout chosen by migration 000003: daily range partitions on
 * plain PostgreSQL/PGlite, hypertables on TimescaleDB.
 */
export type StorageMode = 'partitioned' | 'timescaledb';

/** The raw tables partitioned by day (hypertables under TimescaleDB). */
export const PARTITIONED_TABLES = ['agent_metrics', 'service_status', 'agent_polls'] as const;
export type PartitionedTable = (typeof PARTITIONED_TABLES)[number];

// Transaction-level advisory lock: two collectors never create or drop the
// same partition at once (CREATE … IF NOT EXISTS alone races on the catalog).
const PARTITION_LOCK = '7277461224';

export async function storageMode(q: Queryable): Promise<StorageMode> {
  const { rows } = await q.query<{ mode: StorageMode }>('SELECT mode FROM timeseries_storage');
  if (!rows[0]) throw new Error('timeseries_storage is empty: migration 000003 has not run');
  return rows[0].mode;
}

export interface DbPartition {
  name: string;
  /** null for the DEFAULT partition. */
  from: Date | null;
  to: Date | null;
}

/** A partitioned table's partitions with their bounds, read from the catalog. */
export async function listPartitions(q: Queryable, table: PartitionedTable): Promise<DbPartition[]> {
  // The bound expression is rendered with the session's time zone and an
  // explicit offset; casting it back gives the exact instant either way.
  const { rows } = await q.query<{ name: string; from: Date | null; to: Date | null }>(
    `SELECT c.relname AS name,
            (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']*)''\\) TO \\(''([^'']*)''\\)'))[1]::timestamptz AS "from",
            (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']*)''\\) TO \\(''([^'']*)''\\)'))[2]::timestamptz AS "to"
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = $1::regclass
     ORDER BY 2 NULLS FIRST, 1`,
    [table],
  );
  return rows.map((r) => ({ name: r.name, from: r.from && new Date(r.from), to: r.to && new Date(r.to) }));
}

const isMidnight = (d: Date) => /^\d{4}-\d\d-\d\dT00:00:00\.000Z$/.test(d.toISOString());

/**
 * Creates one day's partition. Rows of that day already in the default
 * partition are moved into it first, then it is attached: ATTACH takes only a
 * SHARE UPDATE EXCLUSIVE lock on the parent, so polls keep writing, where
 * CREATE TABLE … PARTITION OF would block them while it checks the default.
 */
async function createPartition(q: Queryable, table: PartitionedTable, p: PartitionRange): Promise<number> {
  if (!isMidnight(p.from) || !isMidnight(p.to) || !/^[a-z_]+_p\d{8}$/.test(p.name)) {
    throw new Error(`refusing to create partition ${p.name} [${p.from.toISOString()}, ${p.to.toISOString()})`);
  }
  // Identifiers come from PARTITIONED_TABLES and the checked name; bounds
  // are DDL (no parameters allowed), generated from checked dates.
  await q.query(`CREATE TABLE ${p.name} (LIKE ${table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
  await q.query(`LOCK TABLE ${table}_default IN ACCESS EXCLUSIVE MODE`);
  const { rows } = await q.query<{ n: number }>(
    `WITH moved AS (DELETE FROM ${table}_default WHERE ts >= $1 AND ts < $2 RETURNING *),
          ins AS (INSERT INTO ${p.name} SELECT * FROM moved RETURNING 1)
     SELECT count(*)::int AS n FROM ins`,
    [p.from.toISOString(), p.to.toISOString()],
  );
  await q.query(`ALTER TABLE ${table} ATTACH PARTITION ${p.name} FOR VALUES FROM ('${p.from.toISOString()}') TO ('${p.to.toISOString()}')`);
  return Number(rows[0]?.n ?? 0);
}

export interface EnsuredPartitions {
  table: PartitionedTable;
  created: string[];
  /** Rows moved out of the default partition into the new partitions. */
  movedRows: number;
}

/**
 * Makes sure today's partition and the next `aheadDays` days' exist for every
 * partitioned table. Idempotent; safe to run from several collectors.
 * A no-op under TimescaleDB, which creates chunks as rows arrive.
 */
export async function ensurePartitions(db: Db, now: Date, aheadDays: number): Promise<EnsuredPartitions[]> {
  if ((await storageMode(db)) !== 'partitioned') return [];
  const out: EnsuredPartitions[] = [];
  for (const table of PARTITIONED_TABLES) {
    out.push(
      await db.transaction(async (q) => {
        await q.query('SELECT pg_advisory_xact_lock($1::bigint)', [PARTITION_LOCK]);
        // Waiting behind a long query must not stall the writers queued behind us.
        await q.query(`SET LOCAL lock_timeout = '10s'`);
        const existing = (await listPartitions(q, table)).map((p) => p.name);
        const missing = partitionsToCreate(table, now, aheadDays, existing);
        let movedRows = 0;
        for (const p of missing) movedRows += await createPartition(q, table, p);
        return { table, created: missing.map((p) => p.name), movedRows };
      }),
    );
  }
  return out;
}

/** Drops one partition; false (and nothing dropped) when its lock was not granted in time. */
export async function dropPartition(db: Db, table: PartitionedTable, name: string): Promise<boolean> {
  if (!new RegExp(`^${table}_p\\d{8}$`).test(name)) throw new Error(`refusing to drop ${name}: not a daily partition of ${table}`);
  try {
    await db.transaction(async (q) => {
      await q.query('SELECT pg_advisory_xact_lock($1::bigint)', [PARTITION_LOCK]);
      await q.query(`SET LOCAL lock_timeout = '5s'`);
      await q.query(`DROP TABLE IF EXISTS ${name}`);
    });
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '55P03') return false; // lock_not_available: next run
    throw err;
  }
}

/** Deletes the default partition's rows older than cutoff (rows from before partitioning, or far-off clocks). */
export async function pruneDefaultPartition(q: Queryable, table: PartitionedTable, cutoff: Date): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `WITH d AS (DELETE FROM ${table}_default WHERE ts < $1 RETURNING 1) SELECT count(*)::int AS n FROM d`,
    [cutoff.toISOString()],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * TimescaleDB mode: replaces the retention and compression policies that
 * migration 000004 created with defaults by the configured ones. Uses only
 * the documented policy API (remove_*_policy / add_*_policy); TimescaleDB's
 * job scheduler then does the dropping and compressing.
 */
export async function applyTimescalePolicies(db: Db, retention: RetentionPolicy, compressAfterDays: number): Promise<void> {
  await db.transaction(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock($1::bigint)', [PARTITION_LOCK]);
    for (const t of RETENTION_TABLES) {
      if (t.kind === 'delete') continue;
      await q.query('SELECT remove_retention_policy($1::regclass, if_exists => true)', [t.table]);
      await q.query('SELECT add_retention_policy($1::regclass, drop_after => make_interval(days => $2::int), if_not_exists => true)', [
        t.table,
        retentionDays(retention, t.table),
      ]);
    }
    for (const table of PARTITIONED_TABLES) {
      await q.query('SELECT remove_compression_policy($1::regclass, if_exists => true)', [table]);
      if (compressAfterDays > 0) {
        await q.query('SELECT add_compression_policy($1::regclass, compress_after => make_interval(days => $2::int), if_not_exists => true)', [
          table,
          compressAfterDays,
        ]);
      }
    }
  });
}
