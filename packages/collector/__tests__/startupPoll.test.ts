import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config';
import { createCollector, type Collector } from '../src/createCollector';
import { startFleetSimulator, type FleetSimulator } from '../../../test/fleetSimulator';
import { createPgliteTestDb, type TestDb } from '../../../test/testDb';

// With the production defaults (jitter spreads each tier over half its
// period: 2.5 min for services, 30 min for inventory), the start-up poll must
// still fill every table at once: README promises rows right after start.
let sim: FleetSimulator;
let t: TestDb;
let collector: Collector;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vw-startup-'));

beforeAll(async () => {
  sim = await startFleetSimulator({ agents: 20 });
  t = await createPgliteTestDb();
}, 120_000);

afterAll(async () => {
  await collector?.stop();
  await sim?.close();
  await t?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('every tier is polled immediately at start, despite the jitter of scheduled ticks', async () => {
  const config = loadConfig({
    COLLECTOR_DATA_DIR: dataDir,
    COLLECTOR_AGENTS: sim.ids.map((id) => `${id}=${sim.baseUrl(id)}`).join(','),
    COLLECTOR_LOG_LEVEL: 'silent',
  });
  expect(config.fleet!.jitterFraction).toBeGreaterThan(0);
  collector = createCollector({ config, db: t.db, logger: pino({ level: 'silent' }) });
  await collector.start();
  const count = async (table: string) => (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
  // Jittered, the 20 agents' phases spread over many seconds; immediate, all answer within a few.
  const deadline = Date.now() + 6_000;
  while (Date.now() < deadline && ((await count('agent_metrics')) < 20 || (await count('service_status')) < 60 || (await count('system_inventory')) < 20)) {
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(await count('agent_metrics')).toBeGreaterThanOrEqual(20);
  expect(await count('service_status')).toBe(20 * 3);
  expect(await count('system_inventory')).toBe(20);
}, 60_000);
