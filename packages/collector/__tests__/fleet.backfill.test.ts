import type { Collector } from '../src/createCollector';
import { startFleetSimulator, type FleetSimulator } from '../../../test/fleetSimulator';
import { createPgTestDb, describePg, type TestDb } from '../../../test/testDb';
import { simCollector, steppedClock } from './fleet.helpers';

const TIER = 30_000;

describePg('fleet: backfill after a gap', () => {
  let t: TestDb;
  let sim: FleetSimulator;
  const clock = steppedClock();
  const t0 = clock.now();
  const running: Collector[] = [];

  const start = async () => {
    const c = simCollector({ db: t.db, sim, clock: clock.now });
    await c.start({ schedule: false });
    running.push(c);
    return c;
  };
  const seriesOf = async (id: string) =>
    (await t.db.query<{ ts: Date }>('SELECT ts FROM agent_metrics WHERE agent_id = $1 ORDER BY ts', [id])).rows.map((r) => new Date(r.ts).getTime() - t0);

  beforeAll(async () => {
    t = await createPgTestDb();
    sim = await startFleetSimulator({ agents: 5, sampleMs: 5000, now: clock.now });
  });
  afterAll(async () => {
    for (const c of running) await c.stop();
    await sim?.close();
    await t?.drop();
  });

  test('collector stopped for 10 minutes, restarted: the gap is filled at the tier density, no duplicates', async () => {
    const a = await start();
    for (let i = 0; i < 3; i++) {
      await a.runTier('metrics');
      clock.advance(TIER);
    }
    await a.stop();
    running.pop();
    clock.advance(10 * 60_000 - TIER); // down for 10 minutes: last stored t0+60 s, next poll at t0+660 s

    const b = await start();
    const r = await b.runTier('metrics');
    expect(r).toMatchObject({ polled: 5, ok: 5, backfilled: 5 * 19 });
    clock.advance(TIER);
    expect(await b.runTier('metrics')).toMatchObject({ backfilled: 0 });

    const expected = Array.from({ length: 24 }, (_, i) => i * TIER); // t0 … t0+690 s, every 30 s
    for (const id of sim.ids) expect(await seriesOf(id)).toEqual(expected);
    // Backfilled values are the agent's own samples, identical to what live polling stores.
    const { rows } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM (SELECT agent_id, ts FROM agent_metrics GROUP BY 1, 2 HAVING count(*) > 1) d');
    expect(rows[0]!.n).toBe(0);
    expect(await b.registry.metrics()).toMatch(/viworks_collector_backfilled_rows_total 95/);
  });

  test('an agent unreachable for a while is backfilled on its next success', async () => {
    const c = running[0]!;
    const id = sim.ids[2]!;
    const before = (await seriesOf(id)).length;
    sim.setFault(id, 'http_500');
    for (let i = 0; i < 4; i++) {
      clock.advance(TIER);
      await c.runTier('metrics');
    }
    sim.setFault(id, 'none');
    clock.advance(TIER);
    await c.runTier('metrics');
    const series = await seriesOf(id);
    expect(series.length).toBe(before + 5);
    const expected = Array.from({ length: series.length }, (_, i) => i * TIER);
    expect(series).toEqual(expected);
  });
});
