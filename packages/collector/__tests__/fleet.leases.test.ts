import type { Collector } from '../src/createCollector';
import { createPgDb, type Db } from '../src/store/db';
import { startFleetSimulator, type FleetSimulator } from '../../../test/fleetSimulator';
import { createPgTestDb, describePg, type TestDb } from '../../../test/testDb';
import { simCollector, steppedClock, waitFor } from './fleet.helpers';

const TIER = 30_000;
// Short heartbeat and TTL so that a death is noticed in about a second of real time.
const FLEET = { leases: true, heartbeatMs: 150, leaseTtlMs: 1000 };

describePg.each([[2], [3]])('fleet: %i collectors share one fleet through leases', (k) => {
  let t: TestDb;
  let sim: FleetSimulator;
  const clock = steppedClock();
  const t0 = clock.now();
  const pools: Db[] = [];
  const collectors: Collector[] = [];

  beforeAll(async () => {
    t = await createPgTestDb();
    sim = await startFleetSimulator({ agents: 30, sampleMs: 5000, now: clock.now });
    for (let i = 0; i < k; i++) {
      const db = createPgDb(t.url!, { max: 3, applicationName: `collector-${i}` });
      pools.push(db);
      const c = simCollector({ db, sim, clock: clock.now, fleet: { ...FLEET, collectorId: `c${i}` } });
      collectors.push(c);
    }
    for (const c of collectors) await c.start({ schedule: false });
  });
  afterAll(async () => {
    for (const c of collectors) await c.stop();
    for (const p of pools) await p.close();
    await sim?.close();
    await t?.drop();
  });

  /** One tick on the given collectors at once; returns status requests the agents saw. */
  const tick = async (cs: Collector[]) => {
    const before = sim.counts.status;
    await Promise.all(cs.map((c) => c.runTier('metrics')));
    return sim.counts.status - before;
  };
  const rowsAt = async (offset: number) =>
    (await t.db.query<{ agent_id: string }>('SELECT agent_id FROM agent_metrics WHERE ts = $1 ORDER BY agent_id', [new Date(t0 + offset).toISOString()])).rows.map((r) => r.agent_id);

  test('fair shares, every agent polled exactly once per tick', async () => {
    expect(await tick(collectors)).toBe(30);
    const held = collectors.map((c) => c.fleet.leases!.owned().length);
    expect(held.reduce((a, b) => a + b, 0)).toBe(30);
    for (const h of held) expect(h).toBe(30 / k);
    expect(await rowsAt(0)).toEqual(sim.ids);
  });

  test('one collector dies without releasing: the others take its agents at their next tick', async () => {
    const dead = collectors.at(-1)!;
    await dead.fleet.leases!.stop({ release: false }); // a crash: heartbeat stops, leases stay
    const survivors = collectors.slice(0, -1);
    // Wait (bounded) until the database considers it dead.
    await waitFor(async () => (await t.db.query("SELECT 1 FROM collectors WHERE id = $1 AND heartbeat_at < now() - interval '1 second'", [`c${k - 1}`])).rows.length === 1, 10_000);

    clock.advance(TIER);
    expect(await tick(survivors)).toBe(30); // no agent skipped, none polled twice
    expect(await rowsAt(TIER)).toEqual(sim.ids);
    const held = survivors.map((c) => c.fleet.leases!.owned().length);
    expect(held.reduce((a, b) => a + b, 0)).toBe(30);
    for (const h of held) expect(h).toBe(30 / (k - 1));
    const { rows } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM agent_leases WHERE collector_id = $1', [`c${k - 1}`]);
    expect(rows[0]!.n).toBe(0);
    // Two stored rows per agent, one per tick: nothing skipped, nothing doubled.
    const counts = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM agent_metrics GROUP BY agent_id HAVING count(*) <> 2');
    expect(counts.rows).toEqual([]);
  });

  test('singleton jobs stay singletons: one collector wins the retention tick', async () => {
    const survivors = collectors.slice(0, -1);
    const results = await Promise.all(survivors.map((c) => c.runRetention()));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
  });
});
