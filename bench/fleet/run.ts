/**
 * One collector against N simulated agents at the 30 s metrics tier, with the
 * real scheduler, jitter (0.5 of the tier), the write path (queue + spool
 * folder) and PostgreSQL on this machine. Then ingest of the same rows
 * through the store layer (insertMetrics, unnest) vs raw COPY.
 *
 *   TS_NODE_COMPILER_OPTIONS='{"esModuleInterop":true}' npx ts-node --transpile-only bench/fleet/run.ts [--sizes 1000,5000,10000] [--ticks 3]
 *
 * Writes bench/results/fleet-<date>.json. Uses a throw-away database, dropped at the end.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Client } from 'pg';
import { loadConfig } from '../../packages/collector/src/config';
import { createCollector } from '../../packages/collector/src/createCollector';
import { createPgDb } from '../../packages/collector/src/store/db';
import { insertMetrics, type MetricRow } from '../../packages/collector/src/store/metrics';
import { ensurePartitions } from '../../packages/collector/src/store/partitions';
import { defaultMigrationsDir, migrate, readMigrations } from '../../packages/collector/src/store/migrate';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1000,5000,10000' }, ticks: { type: 'string', default: '3' } } });
const sizes = values.sizes ? values.sizes.split(',').map(Number) : []; // --sizes '' runs only the ingest comparison
const ticks = Number(values.ticks);
const ADMIN = process.env.BENCH_PG_ADMIN ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};
const rssMb = () => Math.round(process.memoryUsage().rss / 1048576);

async function withDb<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const name = `viworks_bench_fleet_${process.pid}`;
  const admin = new Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    return await fn(ADMIN.replace(/\/postgres$/, `/${name}`));
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

async function runSize(url: string, n: number) {
  const child = fork(path.join(__dirname, 'simulatorProcess.ts'), [String(n)], { execArgv: ['-r', 'ts-node/register/transpile-only'] });
  const sim = await new Promise<{ url: string; ids: string[] }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { url: string; ids: string[] }));
    child.once('exit', (c) => reject(new Error(`simulator exited ${c}`)));
  });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'viworks-bench-fleet-'));
  const db = createPgDb(url, { max: 4 });
  try {
    const config = loadConfig({
      DATABASE_URL: url,
      COLLECTOR_DATA_DIR: dataDir,
      COLLECTOR_POLL_CONCURRENCY: '256',
      COLLECTOR_POLL_ON_START: 'false',
      COLLECTOR_SERVICES_SCHEDULE: '0 0 0 1 1 *',
      COLLECTOR_INVENTORY_SCHEDULE: '0 0 0 1 1 *',
      COLLECTOR_RETENTION_SCHEDULE: '0 0 0 1 1 *',
      COLLECTOR_LOG_LEVEL: 'silent',
    });
    const agents = sim.ids.map((id) => ({ id, baseUrl: `${sim.url}/a/${id}`, token: null }));
    const collector = createCollector({ config: { ...config, agents }, db, logger: pino({ level: 'silent' }) });
    const lateness: number[] = [];
    const durations: number[] = [];
    const observe = collector.metrics.tickLateness.observe.bind(collector.metrics.tickLateness);
    collector.metrics.tickLateness.observe = ((labels: { tier: string }, v: number) => {
      if (labels.tier === 'metrics') lateness.push(v);
      observe(labels, v);
    }) as typeof observe;
    await collector.start();
    await db.query('TRUNCATE agent_metrics, agent_polls');
    // Wait for `ticks` full metrics ticks after the first boundary.
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    let peakRss = rssMb();
    const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, rssMb())), 500);
    const done = () => durations.length >= ticks;
    const end = collector.metrics.tickDuration.startTimer;
    collector.metrics.tickDuration.startTimer = ((labels: { tier: string }) => {
      const stop = end.call(collector.metrics.tickDuration, labels);
      const s = performance.now();
      return () => {
        durations.push((performance.now() - s) / 1000);
        return stop();
      };
    }) as typeof end;
    const deadline = Date.now() + (ticks + 2) * 30_000 + 60_000;
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    await collector.stop();
    clearInterval(rssTimer);
    const wall = (Date.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const rows = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM agent_metrics')).rows[0]!.n);
    const polls = Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM agent_polls WHERE ok")).rows[0]!.n);
    return {
      agents: n,
      ticks: durations.length,
      wallSeconds: wall,
      pollsPerSecond: Math.round(polls / wall),
      // Within a tick (polls are spread over half the tier by design, so this is ~2 N / 30 s when healthy).
      pollsPerSecondInTick: Math.round(n / (durations.reduce((a, b) => a + b, 0) / Math.max(1, durations.length))),
      rowsPerSecond: Math.round(rows / wall),
      rowsCommitted: rows,
      rowsExpected: n * durations.length,
      tickDurationSeconds: durations.map((d) => Math.round(d * 100) / 100),
      latenessP50Ms: Math.round(pct(lateness, 50) * 1000),
      latenessP99Ms: Math.round(pct(lateness, 99) * 1000),
      cpuPercentOfOneCore: Math.round(((cpu.user + cpu.system) / 1e6 / wall) * 1000) / 10,
      peakRssMb: peakRss,
    };
  } finally {
    await db.close();
    child.disconnect();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The same 100,000 rows written through the store (`insertMetrics` in
 * 10,000-row transactions, as the write queue does per tick: COPY under a
 * savepoint on PostgreSQL) and by one server-side `COPY … FROM` a file, the
 * fastest way PostgreSQL can load them. Three rounds, alternating, so both
 * see the same host; the ratio is of the medians.
 */
async function ingest(url: string, n: number, rounds = 3) {
  const db = createPgDb(url, { max: 2 });
  const t = Date.parse('2025-01-01T00:00:00Z');
  const rows: MetricRow[] = Array.from({ length: n }, (_, i) => ({
    agentId: `sim-${String(i % 10_000).padStart(5, '0')}`,
    ts: new Date(t + Math.floor(i / 10_000) * 30_000).toISOString(),
    cpuUsage: 12.5, memoryUsage: 40, diskUsage: 55, load1: 0.1, load5: 0.2, load15: 0.3, uptimeSeconds: 1000, temperature: null,
  }));
  await migrate(db, readMigrations(defaultMigrationsDir())); // no-op after a size run
  await ensurePartitions(db, new Date(t), 1);
  const csv = path.join(os.tmpdir(), `viworks-bench-copy-${process.pid}.csv`);
  fs.writeFileSync(csv, rows.map((r) => [r.agentId, r.ts, r.cpuUsage, r.memoryUsage, r.diskUsage, r.load1, r.load5, r.load15, r.uptimeSeconds, ''].join(',')).join('\n'));
  fs.chmodSync(csv, 0o644);
  const fresh = async () => {
    await db.query('TRUNCATE agent_metrics, rollup_invalidations');
    await db.query('CHECKPOINT');
  };
  const store: number[] = [];
  const copy: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      await fresh();
      const s1 = performance.now();
      for (let i = 0; i < rows.length; i += 10_000) await db.transaction((q) => insertMetrics(q, rows.slice(i, i + 10_000)));
      store.push(Math.round(n / ((performance.now() - s1) / 1000)));
      await fresh();
      const s2 = performance.now();
      await db.query(`COPY agent_metrics (agent_id, ts, cpu_usage, memory_usage, disk_usage, load_average_1m, load_average_5m, load_average_15m, uptime_seconds, temperature) FROM '${csv}' WITH (FORMAT csv)`);
      copy.push(Math.round(n / ((performance.now() - s2) / 1000)));
    }
  } finally {
    fs.rmSync(csv, { force: true });
    await db.close();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return {
    rows: n,
    storeRowsPerSecond: median(store),
    copyRowsPerSecond: median(copy),
    ratio: Math.round((median(store) / median(copy)) * 100) / 100,
    rounds: { store, copy },
  };
}

void (async () => {
  const started = new Date().toISOString();
  const result = await withDb(async (url) => {
    const out = [];
    for (const n of sizes) {
      const r = await runSize(url, n);
      console.log(JSON.stringify(r));
      out.push(r);
    }
    const ing = await ingest(url, 100_000);
    console.log(JSON.stringify(ing));
    return { sizes: out, ingest: ing };
  });
  const file = path.join(__dirname, '..', 'results', `fleet-${started.replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ started, host: { cpus: os.cpus().length, node: process.version, load: os.loadavg() }, ...result }, null, 2));
  console.log(`written ${file}`);
  process.exit(0);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
