import type { Logger } from 'pino';
import type { Db } from '../store/db';
import { claimJobTick } from '../store/jobs';
import { deleteOlderThan, type PrunedCounts } from '../store/retention';

/** The cutoff for a retention window: pure, so it is tested with a fixed clock. */
export function retentionCutoff(now: Date, retentionDays: number): Date {
  return new Date(now.getTime() - retentionDays * 86_400_000);
}

/**
 * Prunes rows past the retention window. When several collectors share a
 * database, the job_runs claim lets exactly one of them do it per period.
 */
export async function runRetention(
  deps: { db: Db; logger: Logger },
  opts: { retentionDays: number; minIntervalSeconds: number; now?: Date },
): Promise<PrunedCounts | null> {
  const now = opts.now ?? new Date();
  const won = await claimJobTick(deps.db, 'retention', opts.minIntervalSeconds);
  if (!won) return null;
  const counts = await deleteOlderThan(deps.db, retentionCutoff(now, opts.retentionDays));
  deps.logger.info({ pruned: counts, retentionDays: opts.retentionDays }, 'retention pass done');
  return counts;
}
