import type { Logger } from 'pino';
import type { Db } from '../store/db';
import { claimJobTick } from '../store/jobs';
import { ensurePartitions, type EnsuredPartitions } from '../store/partitions';
import { pruneTables, type RetentionResult } from '../store/retention';
import { retentionCutoff, type RetentionPolicy } from '../timeseries/retentionPlan';

export { retentionCutoff };

/**
 * Prunes every time-series table past its retention window. When several
 * collectors share a database, the job_runs claim lets exactly one of them
 * do it per period.
 */
export async function runRetention(
  deps: { db: Db; logger: Logger },
  opts: { policy: RetentionPolicy; minIntervalSeconds: number; now?: Date },
): Promise<RetentionResult | null> {
  const now = opts.now ?? new Date();
  const won = await claimJobTick(deps.db, 'retention', opts.minIntervalSeconds);
  if (!won) return null;
  const result = await pruneTables(deps.db, now, opts.policy);
  const dropped = Object.values(result).reduce((n, t) => n + t.partitionsDropped.length, 0);
  const deleted = Object.values(result).reduce((n, t) => n + t.rowsDeleted, 0);
  const deferred = Object.values(result).flatMap((t) => t.partitionsDeferred);
  deps.logger.info({ partitionsDropped: dropped, rowsDeleted: deleted, deferred, policy: opts.policy }, 'retention pass done');
  if (deferred.length) deps.logger.warn({ deferred }, 'partitions past retention kept for the next run: their lock was busy');
  return result;
}

/**
 * Keeps daily partitions ready `aheadDays` ahead. Scheduled runs are claimed
 * (one collector per period); the run at start-up is not, so a collector
 * never writes into a day without a partition because another one is late.
 */
export async function runPartitionMaintenance(
  deps: { db: Db; logger: Logger },
  opts: { aheadDays: number; minIntervalSeconds: number | null; now?: Date },
): Promise<EnsuredPartitions[] | null> {
  if (opts.minIntervalSeconds !== null && !(await claimJobTick(deps.db, 'partitions', opts.minIntervalSeconds))) return null;
  const result = await ensurePartitions(deps.db, opts.now ?? new Date(), opts.aheadDays);
  const created = result.flatMap((r) => r.created);
  if (created.length) deps.logger.info({ created, movedRows: result.reduce((n, r) => n + r.movedRows, 0) }, 'partitions created');
  return result;
}
