import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { FleetMetrics } from '../fleet/fleetMetrics';
import type { CollectorMetrics } from '../metrics';
import { isUnreachable, type Db } from '../store/db';
import { reviveBatch, writeTierBatch, type BatchCounts, type TierBatch } from './tierBatch';

export interface WriteQueue {
  /** Commits the batch, or spools it to disk when the database is unreachable; null = spooled. */
  write(batch: TierBatch): Promise<BatchCounts | null>;
  /** Batches waiting on disk. */
  spooled(): number;
  /** Drains the spool now (also runs on its own timer); resolves when empty or the database fails again. */
  drain(): Promise<void>;
  /** Batches dropped past the bound since start. */
  dropped(): number;
  close(): Promise<void>;
}

export interface WriteQueueOptions {
  db: Db;
  dir: string;
  /** Spool bound in bytes: past it the oldest batches are dropped (and counted). */
  maxBytes: number;
  retryMs: number;
  logger: Logger;
  metrics?: { collector: CollectorMetrics; fleet: FleetMetrics };
}

/**
 * Writes tier batches in order, one at a time. When PostgreSQL is
 * unreachable a batch is spooled to disk (one JSON file per batch, written
 * to a temp name and renamed, so a kill -9 leaves whole files only) and every
 * later batch follows it there, so the order holds. A timer retries the
 * oldest file; when the database is back the spool drains oldest first while
 * polling goes on. Past maxBytes the oldest files are dropped and counted,
 * never silently. A spool left by a previous process is drained at start.
 */
export function createWriteQueue(opts: WriteQueueOptions): WriteQueue {
  const { db, dir, logger } = opts;
  fs.mkdirSync(dir, { recursive: true });
  let seq = 0;
  let dropped = 0;
  let tail: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  let draining: Promise<void> | null = null;
  let closed = false;

  const files = () => fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const gauge = () => opts.metrics?.fleet.spoolBatches.set(files().length);
  const count = (counts: BatchCounts) => {
    for (const [table, n] of Object.entries(counts)) opts.metrics?.collector.rowsWritten.inc({ table }, n);
  };
  const commit = async (batch: TierBatch) => {
    const counts = await db.transaction((q) => writeTierBatch(q, batch));
    count(counts);
    return counts;
  };

  const spool = (batch: TierBatch) => {
    const name = `${String(batch.at).padStart(15, '0')}-${String(process.pid).padStart(7, '0')}-${String(seq++).padStart(9, '0')}.json`;
    const tmp = path.join(dir, `.${name}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(batch));
    fs.renameSync(tmp, path.join(dir, name));
    // Bound: drop oldest first.
    const all = files();
    let total = all.reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
    for (const f of all) {
      if (total <= opts.maxBytes || f === name) break;
      total -= fs.statSync(path.join(dir, f)).size;
      fs.rmSync(path.join(dir, f), { force: true });
      dropped++;
      opts.metrics?.fleet.spoolDropped.inc();
      logger.error({ file: f }, 'write spool full: oldest batch dropped');
    }
    gauge();
    schedule();
  };

  const drainOnce = async (): Promise<void> => {
    for (const f of files()) {
      if (closed) return;
      const full = path.join(dir, f);
      let batch: TierBatch;
      try {
        batch = reviveBatch(JSON.parse(fs.readFileSync(full, 'utf8')));
      } catch (err) {
        logger.error({ err, file: f }, 'unreadable spool file: dropped');
        fs.rmSync(full, { force: true });
        dropped++;
        opts.metrics?.fleet.spoolDropped.inc();
        continue;
      }
      try {
        await commit(batch);
      } catch (err) {
        if (!isUnreachable(err)) {
          logger.error({ err, file: f }, 'spooled batch refused by the database: dropped');
          fs.rmSync(full, { force: true });
          dropped++;
          opts.metrics?.fleet.spoolDropped.inc();
          continue;
        }
        schedule();
        return;
      }
      fs.rmSync(full, { force: true });
      gauge();
    }
    logger.info('write spool drained');
  };

  // Draining goes through the same serial tail as live writes: order holds.
  const drain = (): Promise<void> => {
    if (draining) return draining;
    const run = tail.then(drainOnce);
    tail = run.catch(() => undefined);
    draining = run.finally(() => (draining = null));
    return draining;
  };

  function schedule() {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = null;
      if (files().length) void drain();
    }, opts.retryMs);
    timer.unref();
  }

  if (files().length) schedule();
  gauge();

  return {
    write(batch) {
      const run = tail.then(async (): Promise<BatchCounts | null> => {
        opts.metrics?.fleet.queueDepth.dec();
        if (files().length) {
          spool(batch);
          return null;
        }
        try {
          return await commit(batch);
        } catch (err) {
          if (!isUnreachable(err)) throw err;
          logger.warn({ err: (err as Error).message, tier: batch.tier }, 'database unreachable: batch spooled to disk');
          spool(batch);
          return null;
        }
      });
      opts.metrics?.fleet.queueDepth.inc();
      tail = run.catch(() => undefined);
      return run;
    },
    spooled: () => files().length,
    dropped: () => dropped,
    drain,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await tail;
    },
  };
}
