import cron from 'node-cron';
import { DEFAULT_RETENTION, RETENTION_TABLE_NAMES, type RetentionPolicy, type RetentionTable } from './retentionPlan';

/** Storage settings of the time-series store (retention, partitions, TimescaleDB compression). */
export interface TimeseriesConfig {
  readonly retention: RetentionPolicy;
  /** Daily partitions kept ready ahead of today (plain PostgreSQL/PGlite). */
  readonly partitionsAheadDays: number;
  /** When the partition job runs (six-field cron). */
  readonly partitionSchedule: string;
  /** TimescaleDB only: compress chunks older than this many days; 0 turns compression off. */
  readonly compressAfterDays: number;
}

export const DEFAULT_PARTITION_SCHEDULE = '0 7 * * * *';

export function defaultTimeseriesConfig(rawDays = DEFAULT_RETENTION.rawDays): TimeseriesConfig {
  return Object.freeze({
    retention: Object.freeze({ ...DEFAULT_RETENTION, rawDays, tableDays: Object.freeze({}) }),
    partitionsAheadDays: 7,
    partitionSchedule: DEFAULT_PARTITION_SCHEDULE,
    compressAfterDays: 7,
  });
}

/** Names the variable at fault; config.ts turns it into a ConfigError. */
export class TimeseriesConfigError extends Error {
  override name = 'TimeseriesConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
  }
}

function wholeNumber(env: NodeJS.ProcessEnv, name: string, min: number, max: number, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new TimeseriesConfigError(name, 'must be a whole number');
  const n = Number(raw);
  if (n < min || n > max) throw new TimeseriesConfigError(name, `must be between ${min} and ${max}`);
  return n;
}

/** `agent_polls=7,service_status=60` → { agent_polls: 7, service_status: 60 }. */
export function parseTableDays(raw: string): Partial<Record<RetentionTable, number>> {
  const out: Partial<Record<RetentionTable, number>> = {};
  for (const pair of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z0-9_]+)=(\d+)$/.exec(pair);
    if (!m) throw new TimeseriesConfigError('COLLECTOR_RETENTION_TABLE_DAYS', `"${pair}" is not table=days`);
    const table = m[1] as RetentionTable;
    if (!RETENTION_TABLE_NAMES.includes(table)) {
      throw new TimeseriesConfigError('COLLECTOR_RETENTION_TABLE_DAYS', `unknown table "${m[1]}" (one of ${RETENTION_TABLE_NAMES.join(', ')})`);
    }
    const days = Number(m[2]);
    if (days < 1 || days > 3650) throw new TimeseriesConfigError('COLLECTOR_RETENTION_TABLE_DAYS', `${table}: days must be between 1 and 3650`);
    if (table in out) throw new TimeseriesConfigError('COLLECTOR_RETENTION_TABLE_DAYS', `${table} is listed twice`);
    out[table] = days;
  }
  return out;
}

/** Reads the time-series variables once; `rawDays` is COLLECTOR_RETENTION_DAYS, already validated. */
export function loadTimeseriesConfig(env: NodeJS.ProcessEnv, rawDays: number): TimeseriesConfig {
  const schedule = env.COLLECTOR_PARTITION_SCHEDULE || DEFAULT_PARTITION_SCHEDULE;
  if (!cron.validate(schedule)) {
    throw new TimeseriesConfigError('COLLECTOR_PARTITION_SCHEDULE', 'must be a valid cron expression (6 fields: s m h dom mon dow)');
  }
  const retention: RetentionPolicy = Object.freeze({
    rawDays,
    rollup5mDays: wholeNumber(env, 'COLLECTOR_ROLLUP_5M_RETENTION_DAYS', 1, 3650, DEFAULT_RETENTION.rollup5mDays),
    rollup1hDays: wholeNumber(env, 'COLLECTOR_ROLLUP_1H_RETENTION_DAYS', 1, 3650, DEFAULT_RETENTION.rollup1hDays),
    tableDays: Object.freeze(parseTableDays(env.COLLECTOR_RETENTION_TABLE_DAYS ?? '')),
  });
  return Object.freeze({
    retention,
    partitionsAheadDays: wholeNumber(env, 'COLLECTOR_PARTITIONS_AHEAD_DAYS', 1, 90, 7),
    partitionSchedule: schedule,
    compressAfterDays: wholeNumber(env, 'COLLECTOR_TIMESCALE_COMPRESS_AFTER_DAYS', 0, 3650, 7),
  });
}
