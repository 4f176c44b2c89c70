import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPgDb, type Db } from '../src/store/db';
import { startFleetSimulator, type FleetSimulator } from '../../../test/fleetSimulator';
import { createThrowawayCluster, freePort, type ThrowawayCluster } from '../../../test/throwawayCluster';
import { describePg } from '../../../test/testDb';
import { waitFor } from './fleet.helpers';

const MAIN = path.join(__dirname, '..', 'dist', 'main.js');
const PERIOD_MS = 2000; // the metrics tier below: every 2 s

/**
 * The real collector process (dist/main.js) against a private PostgreSQL
 * cluster and a simulated fleet, on the real clock: what an operator does to
 * it (SIGHUP after editing the agents file, the database going away, kill -9,
 * a restart) and what must hold afterwards: every agent's series complete at
 * the tier density, nothing twice.
 */
describePg('fleet: the collector process under SIGHUP, a database outage and kill -9', () => {
  let cluster: ThrowawayCluster;
  let db: Db;
  let sim: FleetSimulator;
  let dir: string;
  let agentsFile: string;
  const children: ChildProcess[] = [];
  const output: string[] = [];

  const writeAgents = (ids: readonly string[]) =>
    fs.writeFileSync(agentsFile, JSON.stringify(ids.map((id) => ({ id, url: sim.baseUrl(id) }))));

  const startCollector = async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: cluster.url,
        COLLECTOR_ID: 'crash-test', // a restarted collector keeps its id (and so its leases), as under systemd
        COLLECTOR_DATA_DIR: path.join(dir, 'data'),
        COLLECTOR_AGENTS_FILE: agentsFile,
        COLLECTOR_PORT: String(port),
        COLLECTOR_METRICS_SCHEDULE: '*/2 * * * * *',
        COLLECTOR_SERVICES_SCHEDULE: '0 0 0 1 1 *',
        COLLECTOR_INVENTORY_SCHEDULE: '0 0 0 1 1 *',
        COLLECTOR_POLL_JITTER: '0',
        COLLECTOR_POLL_TIMEOUT_MS: '1000',
        COLLECTOR_SPOOL_RETRY_MS: '300',
        COLLECTOR_HEARTBEAT_MS: '500',
        COLLECTOR_LEASE_TTL_MS: '1500',
        COLLECTOR_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (b: Buffer) => output.push(b.toString()));
    child.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
    children.push(child);
    return { child, port, exited: new Promise<number | null>((r) => child.once('exit', (code) => r(code))) };
  };

  const seriesOf = async (id: string) =>
    (await db.query<{ ts: Date }>('SELECT ts FROM agent_metrics WHERE agent_id = $1 ORDER BY ts', [id])).rows.map((r) => new Date(r.ts).getTime());
  /** While waiting: the collector may not have migrated yet, or the database may be coming back. */
  const seriesSoFar = (id: string) => seriesOf(id).catch(() => [] as number[]);
  const spooled = () => {
    const spool = path.join(dir, 'data', 'spool');
    return fs.existsSync(spool) ? fs.readdirSync(spool).filter((f) => f.endsWith('.json')).length : 0;
  };

  beforeAll(async () => {
    if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: npm test builds it (tsc -b) first`);
    cluster = await createThrowawayCluster();
    db = createPgDb(cluster.url, { max: 2 });
    sim = await startFleetSimulator({ agents: 4, sampleMs: 1000 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'viworks-crash-'));
    agentsFile = path.join(dir, 'agents.json');
  }, 90_000);
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await db?.close();
    await sim?.close();
    cluster?.destroy();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('SIGHUP adds an agent; batches spooled while PostgreSQL is down survive kill -9; the restart drains them and backfills the rest', async () => {
    const [a, b, c, d] = sim.ids as [string, string, string, string];
    writeAgents([a, b, c]);
    const first = await startCollector();
    try {
      await waitFor(async () => (await Promise.all([a, b, c].map(seriesSoFar))).every((s) => s.length >= 2), 30_000, 200);

      // SIGHUP: the edited file is read again, the new agent polled, no restart.
      writeAgents([a, b, c, d]);
      first.child.kill('SIGHUP');
      await waitFor(async () => (await seriesSoFar(d)).length >= 2, 20_000, 200);

      // The database goes away: polling goes on, batches go to the disk spool.
      cluster.stop();
      await waitFor(() => spooled() >= 2, 20_000, 100);
    } catch (err) {
      throw new Error(`${(err as Error).message}\ncollector output:\n${output.join('')}`);
    }
    first.child.kill('SIGKILL');
    await first.exited;
    const left = spooled();
    expect(left).toBeGreaterThanOrEqual(2);
    const killedAt = Date.now();

    // Down a few tiers more, then the database and a new collector process come back.
    await new Promise((r) => setTimeout(r, 3 * PERIOD_MS));
    cluster.start();
    const second = await startCollector();
    try {
      await waitFor(() => spooled() === 0, 30_000, 100);
      // Caught up: every agent has a sample from after the restart.
      const restartedAt = Date.now();
      await waitFor(async () => (await Promise.all(sim.ids.map(seriesSoFar))).every((s) => s.length > 0 && s.at(-1)! > restartedAt), 30_000, 200);
      const metrics = await (await fetch(`http://127.0.0.1:${second.port}/metrics`)).text();
      // The window the collector was dead for came from the agents' history.
      const backfilled = Number(/^viworks_collector_backfilled_rows_total (\d+)/m.exec(metrics)?.[1] ?? 0);
      expect(backfilled).toBeGreaterThan(0);
    } catch (err) {
      throw new Error(`${(err as Error).message}\ncollector output:\n${output.join('')}`);
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }

    const holes: Array<{ id: string; from: string; gapMs: number }> = [];
    for (const id of sim.ids) {
      const ts = await seriesOf(id);
      // No gap wider than two tiers anywhere, across the outage and the kill.
      ts.slice(1).forEach((t, i) => {
        if (t - ts[i]! > 2 * PERIOD_MS) holes.push({ id, from: new Date(ts[i]!).toISOString(), gapMs: t - ts[i]! });
      });
      // The series spans the whole run, through the dead window.
      expect(ts[0]!).toBeLessThan(killedAt - 2 * PERIOD_MS);
      expect(ts.at(-1)!).toBeGreaterThan(killedAt + 3 * PERIOD_MS);
    }
    expect(holes).toEqual([]);
    const dup = await db.query('SELECT agent_id, ts FROM agent_metrics GROUP BY 1, 2 HAVING count(*) > 1');
    expect(dup.rows).toEqual([]);
  });
});
