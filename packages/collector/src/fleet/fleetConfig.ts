import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/** Fleet-scale polling: health/backoff, clock checks, backfill, jitter and leases. */
export interface FleetConfig {
  /** This process's name in the `collectors` table. */
  readonly collectorId: string;
  /** Share agents with other collectors through leases in PostgreSQL. */
  readonly leases: boolean;
  readonly heartbeatMs: number;
  /** A collector whose heartbeat is older than this is dead; its leases are free. */
  readonly leaseTtlMs: number;
  readonly backoffBaseMs: number;
  /** 0 turns backoff off: a failing agent is tried every tick. */
  readonly backoffMaxMs: number;
  /** Fraction of each tier's period across which agents' polls are spread (0 = all at once). */
  readonly jitterFraction: number;
  /** Samples stamped further ahead of the collector clock are rejected (clock_skew). */
  readonly maxFutureSkewMs: number;
  /** Samples older than this are rejected (clock_skew); also how far back backfill reaches. */
  readonly maxSampleAgeMs: number;
  readonly backfill: boolean;
  /** History pages fetched per agent per tick (each at most 500 samples). */
  readonly backfillMaxPages: number;
  /** Disk spool bound for batches written while PostgreSQL is unreachable. */
  readonly spoolMaxBytes: number;
  readonly spoolRetryMs: number;
}

export const defaultCollectorId = () => `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;

/**
 * What a collector built without fleet settings does (tests, library use):
 * health and clock checks and backfill on, no backoff, no jitter, no leases.
 */
export function defaultFleetConfig(over: Partial<FleetConfig> = {}): FleetConfig {
  return Object.freeze({
    collectorId: defaultCollectorId(),
    leases: false,
    heartbeatMs: 5000,
    leaseTtlMs: 15_000,
    backoffBaseMs: 0,
    backoffMaxMs: 0,
    jitterFraction: 0,
    maxFutureSkewMs: 5 * 60_000,
    maxSampleAgeMs: 6 * 3_600_000,
    backfill: true,
    backfillMaxPages: 20,
    spoolMaxBytes: 256 * 1024 * 1024,
    spoolRetryMs: 2000,
    ...over,
  });
}

export class FleetConfigError extends Error {
  override name = 'FleetConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
  }
}

const int = (min: number, max: number) => z.coerce.number().int('must be a whole number').min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const FleetEnv = z.object({
  COLLECTOR_ID: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, 'must be 1-100 characters of A-Z a-z 0-9 . _ : -').optional(),
  COLLECTOR_LEASES: bool.default(true),
  COLLECTOR_HEARTBEAT_MS: int(100, 60_000).default(5000),
  COLLECTOR_LEASE_TTL_MS: int(300, 600_000).default(15_000),
  COLLECTOR_BACKOFF_BASE_MS: int(0, 3_600_000).default(10_000),
  COLLECTOR_BACKOFF_MAX_MS: int(0, 86_400_000).default(300_000),
  COLLECTOR_POLL_JITTER: z.coerce.number().min(0, 'must be between 0 and 0.9').max(0.9, 'must be between 0 and 0.9').default(0.5),
  COLLECTOR_MAX_FUTURE_SKEW_MS: int(1000, 86_400_000).default(300_000),
  COLLECTOR_MAX_SAMPLE_AGE_MS: int(60_000, 30 * 86_400_000).default(6 * 3_600_000),
  COLLECTOR_BACKFILL: bool.default(true),
  COLLECTOR_BACKFILL_MAX_PAGES: int(1, 1000).default(20),
  COLLECTOR_SPOOL_MAX_BYTES: int(1024 * 1024, 1024 ** 4).default(256 * 1024 * 1024),
  COLLECTOR_SPOOL_RETRY_MS: int(100, 600_000).default(2000),
});

/** The COLLECTOR_* fleet variables; throws FleetConfigError naming the variable. */
export function loadFleetConfig(env: NodeJS.ProcessEnv): FleetConfig {
  const r = FleetEnv.safeParse(env);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new FleetConfigError(String(issue.path[0]), issue.message);
  }
  const e = r.data;
  if (e.COLLECTOR_LEASE_TTL_MS < 2 * e.COLLECTOR_HEARTBEAT_MS) {
    throw new FleetConfigError('COLLECTOR_LEASE_TTL_MS', `must be at least twice COLLECTOR_HEARTBEAT_MS (${e.COLLECTOR_HEARTBEAT_MS})`);
  }
  return defaultFleetConfig({
    collectorId: e.COLLECTOR_ID ?? defaultCollectorId(),
    leases: e.COLLECTOR_LEASES,
    heartbeatMs: e.COLLECTOR_HEARTBEAT_MS,
    leaseTtlMs: e.COLLECTOR_LEASE_TTL_MS,
    backoffBaseMs: e.COLLECTOR_BACKOFF_BASE_MS,
    backoffMaxMs: e.COLLECTOR_BACKOFF_MAX_MS,
    jitterFraction: e.COLLECTOR_POLL_JITTER,
    maxFutureSkewMs: e.COLLECTOR_MAX_FUTURE_SKEW_MS,
    maxSampleAgeMs: e.COLLECTOR_MAX_SAMPLE_AGE_MS,
    backfill: e.COLLECTOR_BACKFILL,
    backfillMaxPages: e.COLLECTOR_BACKFILL_MAX_PAGES,
    spoolMaxBytes: e.COLLECTOR_SPOOL_MAX_BYTES,
    spoolRetryMs: e.COLLECTOR_SPOOL_RETRY_MS,
  });
}
