import { DAY } from './time';

/**
 * Every table retention manages, how it is pruned, and which retention
 * setting applies. Identifiers in SQL come from here, never from input.
 *
 * - `partitioned`: daily partitions dropped whole (plain PostgreSQL), plus a
 *   DELETE of old rows in the default partition; hypertables under TimescaleDB.
 * - `delete`: small tables (hourly inventory, sessions) pruned by DELETE.
 * - `rollup`: the 5 min and 1 h rollups (continuous aggregates under TimescaleDB).
 */
export const RETENTION_TABLES = [
  { table: 'agent_metrics', column: 'ts', kind: 'partitioned', setting: 'raw' },
  { table: 'service_status', column: 'ts', kind: 'partitioned', setting: 'raw' },
  { table: 'agent_polls', column: 'ts', kind: 'partitioned', setting: 'raw' },
  { table: 'system_inventory', column: 'ts', kind: 'delete', setting: 'raw' },
  { table: 'disk_usage', column: 'ts', kind: 'delete', setting: 'raw' },
  { table: 'network_stats', column: 'ts', kind: 'delete', setting: 'raw' },
  // Sessions are kept while open; closed ones age out by when they closed.
  { table: 'container_sessions', column: 'stopped_at', kind: 'delete', setting: 'raw' },
  { table: 'agent_metrics_5m', column: 'bucket', kind: 'rollup', setting: 'rollup5m' },
  { table: 'agent_metrics_1h', column: 'bucket', kind: 'rollup', setting: 'rollup1h' },
  { table: 'service_status_1h', column: 'bucket', kind: 'rollup', setting: 'rollup1h' },
  { table: 'agent_polls_1h', column: 'bucket', kind: 'rollup', setting: 'rollup1h' },
] as const;

export type RetentionTable = (typeof RETENTION_TABLES)[number]['table'];
export const RETENTION_TABLE_NAMES: readonly RetentionTable[] = RETENTION_TABLES.map((t) => t.table);

export interface RetentionPolicy {
  /** Raw time-series tables (default 30). */
  readonly rawDays: number;
  /** agent_metrics_5m (default 90: month reports read it). */
  readonly rollup5mDays: number;
  /** The 1 h rollups (default 365). */
  readonly rollup1hDays: number;
  /** Per-table overrides, e.g. { agent_polls: 7 }. */
  readonly tableDays: Readonly<Partial<Record<RetentionTable, number>>>;
}

export const DEFAULT_RETENTION: RetentionPolicy = { rawDays: 30, rollup5mDays: 90, rollup1hDays: 365, tableDays: {} };

export function retentionDays(policy: RetentionPolicy, table: RetentionTable): number {
  const spec = RETENTION_TABLES.find((t) => t.table === table)!;
  const base = spec.setting === 'raw' ? policy.rawDays : spec.setting === 'rollup5m' ? policy.rollup5mDays : policy.rollup1hDays;
  return policy.tableDays[table] ?? base;
}

/** The cutoff for a retention window: rows older than this are past it. */
export function retentionCutoff(now: Date, days: number): Date {
  return new Date(now.getTime() - days * DAY);
}

/** Each managed table with its cutoff at `now`. */
export function retentionCutoffs(now: Date, policy: RetentionPolicy): Array<(typeof RETENTION_TABLES)[number] & { days: number; cutoff: Date }> {
  return RETENTION_TABLES.map((t) => {
    const days = retentionDays(policy, t.table);
    return { ...t, days, cutoff: retentionCutoff(now, days) };
  });
}
