import request from 'supertest';
import { Registry } from 'prom-client';
import { createApp } from '../src/http/createApp';
import type { Collector } from '../src/createCollector';
import { startFleetSimulator, type Fault, type FleetSimulator } from '../../../test/fleetSimulator';
import { createPgTestDb, describePg, type TestDb } from '../../../test/testDb';
import { silent, simCollector, steppedClock } from './fleet.helpers';

// 80 simulated agents, 10 % faulty: one of each fault kind.
const FAULTY: Array<[Fault, string]> = [
  ['hang', 'timeout'],
  ['slow_drip', 'timeout'],
  ['http_500', 'http_status'],
  ['garbage', 'invalid_json'],
  ['huge_body', 'body_too_large'],
  ['reset', 'network'],
  ['bad_clock', 'clock_skew'],
  ['invalid_body', 'invalid_body'],
];
// Long enough that a healthy simulated agent never misses it on a busy 2-core machine
// (700 ms did, under load); short enough to keep the hanging agents cheap.
const TIMEOUT_MS = 2500;

describePg('fleet: per-agent health', () => {
  let t: TestDb;
  let sim: FleetSimulator;
  let collector: Collector;
  const clock = steppedClock();
  const faulty = new Map<string, string>();

  beforeAll(async () => {
    t = await createPgTestDb();
    sim = await startFleetSimulator({ agents: 80, now: clock.now });
    FAULTY.forEach(([fault, code], i) => {
      const id = sim.ids[i * 10 + 3]!;
      sim.setFault(id, fault);
      faulty.set(id, code);
    });
    // Backoff long enough that the faulty agents are skipped at the next tick (60-120 s after one failure).
    collector = simCollector({ db: t.db, sim, clock: clock.now, timeoutMs: TIMEOUT_MS, fleet: { backoffBaseMs: 120_000, backoffMaxMs: 600_000 } });
    await collector.start({ schedule: false });
  });

  afterAll(async () => {
    await collector?.stop();
    await sim?.close();
    await t?.drop();
  });

  test('faulty agents cost one timeout, are unreachable with their reason; healthy ones are polled', async () => {
    const started = Date.now();
    const result = await collector.runTier('metrics');
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 4);
    expect(result).toMatchObject({ polled: 80, ok: 72, failed: 8, rows: 72, skipped: 0 });

    const { rows } = await t.db.query<{ id: string; state: string; unreachable_reason: string | null; consecutive_failures: number; clock_skew_ms: number | null; next_attempt_at: Date | null }>(
      'SELECT id, state, unreachable_reason, consecutive_failures, clock_skew_ms, next_attempt_at FROM agents ORDER BY id',
    );
    for (const r of rows) {
      const code = faulty.get(r.id);
      if (code) {
        expect(r).toMatchObject({ state: 'unreachable', consecutive_failures: 1 });
        expect(r.unreachable_reason).toMatch(new RegExp(`^${code}: `));
        const wait = new Date(r.next_attempt_at!).getTime() - clock.now();
        expect(wait).toBeGreaterThanOrEqual(60_000);
        expect(wait).toBeLessThanOrEqual(121_000);
      } else {
        expect(r).toMatchObject({ state: 'ok', unreachable_reason: null, consecutive_failures: 0, clock_skew_ms: 0 });
      }
    }
    // The bad clock's skew is recorded though its sample was rejected.
    const bad = [...faulty].find(([, c]) => c === 'clock_skew')![0];
    expect(rows.find((r) => r.id === bad)!.clock_skew_ms).toBe(86_400_000);
    const polls = (await t.db.query<{ agent_id: string; error_code: string | null; clock_skew_ms: number | null }>('SELECT agent_id, error_code, clock_skew_ms FROM agent_polls WHERE agent_id = $1', [bad])).rows;
    expect(polls).toEqual([{ agent_id: bad, error_code: 'clock_skew', clock_skew_ms: 86_400_000 }]);
    const stored = (await t.db.query<{ n: number }>('SELECT count(DISTINCT agent_id)::int AS n FROM agent_metrics WHERE agent_id = ANY($1)', [[...faulty.keys()]])).rows[0]!.n;
    expect(stored).toBe(0);

    const metricsText = await collector.registry.metrics();
    expect(metricsText).toMatch(new RegExp(`viworks_collector_agent_clock_skew_seconds\\{agent="${bad}"\\} 86400`));
    expect(metricsText).toMatch(/viworks_collector_agents_unreachable 8/);

    // The agent list shows it.
    const app = createApp({ db: t.db, registry: new Registry(), logger: silent, version: 'test' });
    const res = await request(app).get('/api/v1/agents').expect(200);
    const listed = res.body.agents.find((a: { id: string }) => a.id === bad);
    expect(listed.health).toMatchObject({ state: 'unreachable', reason: expect.stringMatching(/^clock_skew: sample timestamp .* 86400 s ahead/), clockSkewMs: 86_400_000 });
  });

  test('agents in backoff are skipped at the next tick, so the tick costs no timeout at all', async () => {
    clock.advance(30_000);
    const started = Date.now();
    const result = await collector.runTier('metrics');
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);
    expect(result).toMatchObject({ polled: 72, ok: 72, skipped: 8 });
  });

  test('recovered on the next success after the backoff', async () => {
    for (const id of faulty.keys()) sim.setFault(id, 'none');
    clock.advance(120_000);
    const result = await collector.runTier('metrics');
    expect(result).toMatchObject({ polled: 80, ok: 80, skipped: 0 });
    const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM agents WHERE state = 'ok' AND unreachable_reason IS NULL AND next_attempt_at IS NULL`);
    expect(rows[0]!.n).toBe(80);
    expect(await collector.registry.metrics()).toMatch(/viworks_collector_agents_unreachable 0/);
  });
});
