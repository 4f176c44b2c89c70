import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Collector } from '../src/createCollector';
import { createWriteQueue, type WriteQueue } from '../src/ingest/writeQueue';
import { createPgDb, type Db } from '../src/store/db';
import { startFleetSimulator, type FleetSimulator } from '../../../test/fleetSimulator';
import { createThrowawayCluster, type ThrowawayCluster } from '../../../test/throwawayCluster';
import { describePg } from '../../../test/testDb';
import { createCollector } from '../src/createCollector';
import { defaultFleetConfig } from '../src/fleet/fleetConfig';
import { baseConfig } from './helpers';
import { silent, steppedClock } from './fleet.helpers';

const TIER = 30_000;

// Stops and starts a private cluster on its own port: the shared server is never touched.
describePg('fleet: PostgreSQL outage → disk spool → drained in order', () => {
  let cluster: ThrowawayCluster;
  let db: Db;
  let sim: FleetSimulator;
  let queue: WriteQueue;
  let collector: Collector;
  let spoolDir: string;
  const clock = steppedClock();
  const t0 = clock.now();

  beforeAll(async () => {
    cluster = await createThrowawayCluster();
    db = createPgDb(cluster.url, { max: 2 });
    sim = await startFleetSimulator({ agents: 10, now: clock.now });
    spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'viworks-spool-'));
    queue = createWriteQueue({ db, dir: spoolDir, maxBytes: 64 * 1024 * 1024, retryMs: 60_000, logger: silent });
    collector = createCollector({
      config: baseConfig({ agents: sim.ids.map((id) => ({ id, baseUrl: sim.baseUrl(id), token: null })), fleet: defaultFleetConfig({ backfill: false }) }),
      db,
      logger: silent,
      clock: clock.now,
      writeQueue: queue,
    });
    await collector.start({ schedule: false });
  }, 90_000);
  afterAll(async () => {
    await collector?.stop();
    await db?.close();
    await sim?.close();
    cluster?.destroy();
    fs.rmSync(spoolDir, { recursive: true, force: true });
  });

  test('polling goes on while the database is down; on recovery every sample arrives once, in order', async () => {
    expect(await collector.runTier('metrics')).toMatchObject({ ok: 10, rows: 10 });
    cluster.stop();
    for (let i = 1; i <= 3; i++) {
      clock.advance(TIER);
      // The tier still completes: its batch goes to disk.
      expect(await collector.runTier('metrics')).toMatchObject({ ok: 10 });
    }
    expect(queue.spooled()).toBe(3);
    cluster.start();
    // A batch produced while the spool is non-empty queues behind it (order).
    clock.advance(TIER);
    await collector.runTier('metrics');
    expect(queue.spooled()).toBe(4);
    await queue.drain();
    expect(queue.spooled()).toBe(0);
    expect(queue.dropped()).toBe(0);

    const { rows } = await db.query<{ ts: Date; n: number }>('SELECT ts, count(*)::int AS n FROM agent_metrics GROUP BY ts ORDER BY ts');
    expect(rows.map((r) => [new Date(r.ts).getTime() - t0, r.n])).toEqual([0, 1, 2, 3, 4].map((i) => [i * TIER, 10]));
    // Drained oldest first: the newest poll is what each agent shows last.
    const last = await db.query<{ last_poll_at: Date }>('SELECT DISTINCT last_poll_at FROM agents');
    expect(last.rows.map((r) => new Date(r.last_poll_at).getTime())).toEqual([t0 + 4 * TIER]);
    // Replaying a drained batch is harmless (natural keys): nothing doubles.
    const dup = await db.query('SELECT agent_id, ts FROM agent_metrics GROUP BY 1, 2 HAVING count(*) > 1');
    expect(dup.rows).toEqual([]);
  });

  test('past the bound the oldest batches are dropped and counted', async () => {
    const nowhere = createPgDb('postgres://postgres@127.0.0.1:1/none');
    const small = createWriteQueue({ db: nowhere, dir: fs.mkdtempSync(path.join(os.tmpdir(), 'viworks-spool-')), maxBytes: 1, retryMs: 60_000, logger: silent });
    const { emptyBatch } = await import('../src/ingest/tierBatch');
    for (let i = 0; i < 3; i++) expect(await small.write(emptyBatch('metrics', t0 + i))).toBeNull();
    expect(small.spooled()).toBe(1); // only the newest fits
    expect(small.dropped()).toBe(2);
    await small.close();
    await nowhere.close();
  });
});
