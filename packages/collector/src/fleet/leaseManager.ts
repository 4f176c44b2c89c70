import type { Logger } from 'pino';
import { isUnreachable, type Db } from '../store/db';
import { claimLeases, heartbeat, pruneCollectors, releaseCollector, type LeaseClaim } from '../store/leases';
import type { FleetMetrics } from './fleetMetrics';

export interface LeaseManager {
  readonly collectorId: string;
  /** Heartbeat, renew, release past the fair share, claim free or orphaned agents. */
  rebalance(): Promise<LeaseClaim>;
  /** Agents held at the last rebalance. */
  owned(): ReadonlyArray<{ id: string; base_url: string }>;
  startHeartbeat(): void;
  /** Stops the heartbeat; release=false leaves the leases to expire (what a crash does). */
  stop(opts?: { release?: boolean }): Promise<void>;
}

/**
 * This collector's side of the lease protocol (SQL in store/leases.ts). The
 * heartbeat runs on its own timer, much shorter than a tier, so a dead
 * collector is noticed within the lease TTL and its agents are claimed by
 * the next tick of any live collector: within one 30 s tier by default
 * (heartbeat 5 s, TTL 15 s).
 */
export function createLeaseManager(deps: {
  db: Db;
  logger: Logger;
  metrics: FleetMetrics;
  collectorId: string;
  heartbeatMs: number;
  ttlMs: number;
}): LeaseManager {
  const { db, logger, metrics, collectorId } = deps;
  /** The last claim the database granted; its `owned` is what this collector polls. */
  let last: LeaseClaim | null = null;
  let timer: NodeJS.Timeout | null = null;
  let beating: Promise<void> | null = null;
  let stopped = false;

  const beat = async () => {
    if (beating || stopped) return; // never overlaps
    beating = heartbeat(db, collectorId)
      .catch((err) => logger.warn({ err: (err as Error).message }, 'heartbeat failed: leases expire unless the database returns'))
      .finally(() => (beating = null));
    await beating;
  };

  return {
    collectorId,
    owned: () => last?.owned ?? [],
    async rebalance() {
      let claim: LeaseClaim;
      try {
        claim = await db.transaction((q) => claimLeases(q, collectorId, deps.ttlMs));
      } catch (err) {
        // Database down: keep polling what we held, so samples keep flowing
        // to the write spool. Past the TTL another collector that can still
        // reach the database may take these agents too; both then poll them,
        // and the natural keys keep the rows single.
        if (!last || !isUnreachable(err)) throw err;
        logger.warn({ err: (err as Error).message, held: last.owned.length }, 'leases not renewed (database unreachable): polling the agents held before');
        return { ...last, claimed: 0, released: 0 };
      }
      last = claim;
      metrics.leasesHeld.set(claim.owned.length);
      metrics.liveCollectors.set(claim.liveCollectors);
      if (claim.claimed || claim.released) {
        logger.info({ collector: collectorId, claimed: claim.claimed, released: claim.released, held: claim.owned.length, share: claim.fairShare, live: claim.liveCollectors }, 'leases rebalanced');
      }
      // Housekeeping: collectors dead for an hour are forgotten.
      await pruneCollectors(db, 3_600_000).catch(() => undefined);
      return claim;
    },
    startHeartbeat() {
      stopped = false;
      if (timer) return;
      void beat();
      timer = setInterval(() => void beat(), deps.heartbeatMs);
      timer.unref();
    },
    async stop(opts = {}) {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
      await beating;
      if (opts.release !== false) {
        await releaseCollector(db, collectorId).catch((err) => logger.warn({ err: (err as Error).message }, 'releasing leases failed: they expire'));
      }
      last = null;
    },
  };
}
