import request from 'supertest';
import { Registry } from 'prom-client';
import type express from 'express';
import type { Collector } from '../src/createCollector';
import { createApp } from '../src/http/createApp';
import { startFleetSimulator, type FleetSimulator } from '../../../test/fleetSimulator';
import { createPgTestDb, describePg, type TestDb } from '../../../test/testDb';
import { silent, simCollector, steppedClock } from './fleet.helpers';

describePg('fleet: agents added and removed at runtime', () => {
  let t: TestDb;
  let sim: FleetSimulator;
  let collector: Collector;
  let app: express.Express;
  const clock = steppedClock();

  beforeAll(async () => {
    t = await createPgTestDb();
    sim = await startFleetSimulator({ agents: 4, now: clock.now });
    collector = simCollector({ db: t.db, sim, clock: clock.now, ids: sim.ids.slice(0, 2) });
    await collector.start({ schedule: false });
    app = createApp({ db: t.db, registry: new Registry(), logger: silent, version: 'test', agentRegistry: collector.fleet.registry });
  });
  afterAll(async () => {
    await collector?.stop();
    await sim?.close();
    await t?.drop();
  });

  const ids = async () => (await t.db.query<{ id: string }>('SELECT id FROM agents ORDER BY id')).rows.map((r) => r.id);

  test.each([
    [{ id: 'bad id!', url: 'http://127.0.0.1:1' }, 'id: must be 1-50 characters'],
    [{ id: 'ok', url: 'ftp://127.0.0.1:1' }, 'url: must be an http:// or https:// URL'],
    [{ id: 'ok' }, 'url:'],
    [{ id: 'ok', url: 'http://127.0.0.1:1', extra: 1 }, 'body: Unrecognized key'],
    [[], 'body:'],
  ])('POST %j → 400 invalid_agent, nothing registered', async (body, message) => {
    const before = await ids();
    const res = await request(app).post('/api/v1/agents').send(body as object).expect(400);
    expect(res.body.error.code).toBe('invalid_agent');
    expect(res.body.error.message).toContain(message);
    expect(await ids()).toEqual(before);
  });

  test('malformed JSON → 400, unknown agent DELETE → 404', async () => {
    await request(app).post('/api/v1/agents').set('content-type', 'application/json').send('{"id":').expect(400);
    const res = await request(app).delete('/api/v1/agents/nobody').expect(404);
    expect(res.body.error).toEqual({ code: 'unknown_agent', message: 'no agent with id "nobody"' });
  });

  test('an added agent is polled at the next tick; a duplicate is 409; a removed one is no longer polled', async () => {
    const id = sim.ids[3]!;
    const res = await request(app).post('/api/v1/agents').send({ id, url: sim.baseUrl(id) }).expect(201);
    expect(res.body).toMatchObject({ id, baseUrl: sim.baseUrl(id), source: 'api' });
    const dup = await request(app).post('/api/v1/agents').send({ id, url: sim.baseUrl(id) }).expect(409);
    expect(dup.body.error.code).toBe('agent_exists');

    expect(await collector.runTier('metrics')).toMatchObject({ polled: 3, ok: 3 });
    await request(app).delete(`/api/v1/agents/${sim.ids[0]}`).expect(204);
    clock.advance(30_000);
    expect(await collector.runTier('metrics')).toMatchObject({ polled: 2, ok: 2 });
    expect(await ids()).toEqual([sim.ids[1], id]);
    // The removed agent's series stays.
    const kept = await t.db.query('SELECT 1 FROM agent_metrics WHERE agent_id = $1', [sim.ids[0]]);
    expect(kept.rows).toHaveLength(1);
  });

  test('config reload: config agents follow the new list, API-added ones stay', async () => {
    const r = await collector.fleet.registry.reloadConfig([{ id: sim.ids[2]!, baseUrl: sim.baseUrl(sim.ids[2]!), token: null }]);
    expect(r).toEqual({ added: [sim.ids[2]], removed: [sim.ids[1]] });
    expect(await ids()).toEqual([sim.ids[2], sim.ids[3]]);
    clock.advance(30_000);
    expect(await collector.runTier('metrics')).toMatchObject({ polled: 2, ok: 2 });
  });
});
