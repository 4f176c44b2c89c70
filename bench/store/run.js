#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Benchmarks the time-series store on the PostgreSQL server here (issue 6):
 *
 *   load     200 agents × 30 days of 30 s samples (17.28 M rows) generated
 *            server-side (generate_series, one INSERT … SELECT per day, in
 *            time order like real ingestion) into the partitioned
 *            agent_metrics, and the same rows into an unpartitioned copy with
 *            000001's schema (the "before" design) for the pruning comparison
 *   trend    one agent's 30-day hourly trend through the collector's own
 *            query code (store/trends.ts): from agent_metrics_1h vs from raw rows
 *   prune    one day by DROP of its partition (store/partitions.ts) vs DELETE
 *            of the same rows from the unpartitioned copy plus the VACUUM that
 *            DELETE leaves owing, three days at each of three table sizes
 *   refresh  one metrics tick's rollup maintenance: 200 rows inserted through
 *            the invalidation trigger, then refreshRollups()
 *   disk     bytes per agent-day: raw partitions, rollups, the copy
 *
 * Everything happens in a throw-away database that is dropped at the end
 * (also on failure). Uses the built collector: run `npx tsc -b` first.
 *
 *   node bench/store/run.js                 # the full run (~15-30 min on 2 cores)
 *   node bench/store/run.js --agents 20 --days 6 --quick   # a smoke test, not figures
 */
const { writeFileSync, mkdirSync } = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { parseArgs } = require('node:util');
const { Client } = require('pg');

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'packages', 'collector', 'dist');
const { createPgDb } = require(path.join(DIST, 'store', 'db'));
const { migrate, readMigrations } = require(path.join(DIST, 'store', 'migrate'));
const { ensurePartitions, dropPartition } = require(path.join(DIST, 'store', 'partitions'));
const { rebuildRollups, refreshRollups, METRIC_COLUMNS } = require(path.join(DIST, 'store', 'rollups'));
const { selectAgentTrend, agentTrendSql } = require(path.join(DIST, 'store', 'trends'));
const { planTrend, METRIC_SOURCES } = require(path.join(DIST, 'timeseries', 'trendPlan'));

const TARGETS = { trendRollupP95Ms: 50, trendSpeedup: 50, pruneSpeedup: 100 };
const DAY = 86_400_000;

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '200' },
    days: { type: 'string', default: '30' },
    quick: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    jit: { type: 'boolean', default: false },
    tablespace: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(
    'node bench/store/run.js [--agents 200] [--days 30] [--quick] [--keep] [--jit] [--tablespace DIR]\n' +
      "  --keep: do not drop the database; --jit: leave the server's JIT setting on (default: off for the bench database)\n" +
      '  --tablespace DIR: put the bench database in a tablespace at DIR (an empty folder the server can write, e.g. on\n' +
      '    tmpfs), to see how much of a figure is the filesystem (dropping a partition is mostly freeing its files)',
  );
  process.exit(0);
}
const AGENTS = Number(args.agents);
const DAYS = Number(args.days);
// Nine extra days before day 0 are loaded and pruned, three in each prune
// round, so the trend runs over exactly DAYS days.
const EXTRA = 9;
const PRUNES_PER_ROUND = 3;
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DB_NAME = `viworks_bench_store_${process.pid}`;
const TABLESPACE = args.tablespace ? `viworks_bench_ts_${process.pid}` : null;
const DAY0 = Date.parse('2025-01-06T00:00:00Z'); // a Monday; fixed, so runs are comparable
const dayStart = (d) => new Date(DAY0 + d * DAY);

async function admin(sql) {
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

const now = () => performance.now();
async function timed(fn) {
  const t0 = now();
  const result = await fn();
  return { ms: now() - t0, result };
}
function pct(samples, p) {
  const s = [...samples].sort((a, b) => a - b);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  return s[lo] + (rank - lo) * ((s[Math.ceil(rank)] ?? s[lo]) - s[lo]);
}
const r1 = (x) => Math.round(x * 10) / 10;
const mb = (bytes) => r1(bytes / 1024 / 1024);
const log = (...a) => console.log(new Date().toISOString().slice(11, 19), ...a);

// Time-major, like real ingestion: every agent's sample at t, then t + 30 s.
const GENERATE = (table) => `
  INSERT INTO ${table} (agent_id, ts, cpu_usage, memory_usage, disk_usage, load_average_1m, load_average_5m, load_average_15m, uptime_seconds, temperature)
  SELECT 'agent-' || lpad(a::text, 3, '0'),
         $1::timestamptz + make_interval(secs => s * 30),
         (20 + 15 * sin(s / 240.0 + a) + random() * 10)::real,
         (35 + a % 40 + random() * 5)::real,
         (30 + a % 50 + s / 2880.0)::real,
         (random() * 4)::real, (random() * 3)::real, (random() * 2)::real,
         (864000 + s * 30)::bigint,
         CASE WHEN a % 3 = 0 THEN NULL ELSE (40 + random() * 20)::real END
  FROM generate_series(0, 2879) s, generate_series(0, $2::int - 1) a`;

async function main() {
  const started = new Date();
  const pgVersion = (await admin('SELECT version() AS v')).rows[0].v;
  await admin(`DROP DATABASE IF EXISTS ${DB_NAME}`);
  if (TABLESPACE) await admin(`CREATE TABLESPACE ${TABLESPACE} LOCATION '${path.resolve(args.tablespace).replace(/'/g, "''")}'`);
  await admin(`CREATE DATABASE ${DB_NAME}${TABLESPACE ? ` TABLESPACE ${TABLESPACE}` : ''}`);
  // As README recommends for the collector's database: JIT compilation only
  // adds latency to these short queries (about 100 ms to each raw trend read
  // here), so the raw baseline is measured at its best.
  if (!args.jit) await admin(`ALTER DATABASE ${DB_NAME} SET jit = off`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${DB_NAME}`;
  const db = createPgDb(url.toString(), { max: 4, applicationName: 'viworks-bench-store' });
  const out = { started: started.toISOString(), host: { cpus: os.cpus().length, load: os.loadavg().map(r1), pg: pgVersion }, agents: AGENTS, days: DAYS, tablespace: args.tablespace ?? null };
  try {
    await migrate(db, readMigrations(path.join(ROOT, 'migrations')));

    // Partitions for every loaded day (the scheduled job only makes today and ahead).
    await ensurePartitions(db, dayStart(-EXTRA), DAYS + EXTRA);
    // The "before" design: one unpartitioned table, 000001's keys and index.
    // Autovacuum off on it: the VACUUM each DELETE leaves owing is run, and timed, explicitly.
    await db.exec(`CREATE TABLE agent_metrics_flat (LIKE agent_metrics INCLUDING DEFAULTS INCLUDING CONSTRAINTS, PRIMARY KEY (agent_id, ts))
                     WITH (autovacuum_enabled = false);
                   CREATE INDEX agent_metrics_flat_ts_idx ON agent_metrics_flat (ts);`);
    // Bulk load: rollups are rebuilt set-based afterwards instead of per-row invalidations.
    await db.exec('ALTER TABLE agent_metrics DISABLE TRIGGER agent_metrics_rollup_invalidate');

    const loadDay = async (d) => {
      const day = dayStart(d).toISOString();
      const a = await timed(() => db.query(GENERATE('agent_metrics'), [day, AGENTS]));
      const b = await timed(() => db.query(`INSERT INTO agent_metrics_flat SELECT * FROM agent_metrics WHERE ts >= $1 AND ts < $2`, [day, dayStart(d + 1).toISOString()]));
      return { partitioned: a.ms, flat: b.ms };
    };
    const prune = async (d) => {
      const { rows } = await db.query('SELECT (SELECT count(*) FROM agent_metrics)::bigint AS part, (SELECT count(*) FROM agent_metrics_flat)::bigint AS flat');
      const name = `agent_metrics_p${dayStart(d).toISOString().slice(0, 10).replace(/-/g, '')}`;
      const del = await timed(() =>
        db.query('WITH d AS (DELETE FROM agent_metrics_flat WHERE ts >= $1 AND ts < $2 RETURNING 1) SELECT count(*)::int AS n FROM d', [
          dayStart(d).toISOString(),
          dayStart(d + 1).toISOString(),
        ]),
      );
      const vac = await timed(() => db.exec('VACUUM agent_metrics_flat'));
      const drop = await timed(() => dropPartition(db, 'agent_metrics', name));
      if (drop.result !== true) throw new Error(`drop of ${name} was deferred`);
      return {
        day: d, tableRows: Number(rows[0].part), tableDays: Number(rows[0].part) / (AGENTS * 2880), rowsPruned: del.result.rows[0].n,
        deleteMs: r1(del.ms), vacuumMs: r1(vac.ms), dropMs: r1(drop.ms),
      };
    };

    const load = { days: 0, rows: 0, ms: 0, flatMs: 0 };
    const pruning = [];
    const phases = args.quick ? [[-EXTRA, DAYS - 1]] : [[-EXTRA, 6], [7, 16], [17, DAYS - 1]];
    for (const [i, [a, b]] of phases.entries()) {
      for (let d = a; d <= b; d++) {
        const t = await loadDay(d);
        load.days += 1;
        load.rows += AGENTS * 2880;
        load.ms += t.partitioned;
        load.flatMs += t.flat;
        log(`loaded day ${d} (${AGENTS * 2880} rows) in ${Math.round(t.partitioned)} ms (+ copy ${Math.round(t.flat)} ms)`);
      }
      await db.exec('ANALYZE agent_metrics; ANALYZE agent_metrics_flat');
      const rounds = args.quick ? [[-9, -8, -7], [-6, -5, -4], [-3, -2, -1]] : [[-9 + 3 * i, -8 + 3 * i, -7 + 3 * i]];
      for (const round of rounds) {
        const runs = [];
        for (const d of round) {
          const p = await prune(d);
          runs.push(p);
          log(`prune day ${d} at ${p.tableRows} rows: DELETE ${p.deleteMs} ms + VACUUM ${p.vacuumMs} ms, DROP ${p.dropMs} ms`);
        }
        const med = (k) => r1(pct(runs.map((r) => r[k]), 50));
        const deleteMs = med('deleteMs');
        const vacuumMs = med('vacuumMs');
        const dropMs = med('dropMs');
        const total = r1(pct(runs.map((r) => r.deleteMs + r.vacuumMs), 50));
        pruning.push({
          tableDays: Math.round(runs[0].tableDays), rowsPruned: runs[0].rowsPruned, runs,
          medianDeleteMs: deleteMs, medianVacuumMs: vacuumMs, medianDeletePlusVacuumMs: total, medianDropMs: dropMs,
          speedupDeleteOnly: r1(deleteMs / dropMs), speedupDeletePlusVacuum: r1(total / dropMs),
        });
      }
    }
    out.load = { rows: load.rows, days: load.days, seconds: r1(load.ms / 1000), rowsPerSecond: Math.round(load.rows / (load.ms / 1000)) };
    out.pruning = pruning;

    const rebuild = await timed(async () => {
      for (let d = 0; d < DAYS; d++) await rebuildRollups(db, dayStart(d), dayStart(d + 1));
    });
    for (const sql of ['VACUUM ANALYZE agent_metrics_5m', 'VACUUM ANALYZE agent_metrics_1h', 'VACUUM ANALYZE agent_metrics']) await db.exec(sql);
    out.rollupBuildSeconds = r1(rebuild.ms / 1000);
    log(`rollups built in ${out.rollupBuildSeconds} s`);

    // Trend: one agent, DAYS days, hourly, through the collector's query code:
    // every metric (the API's default) and one metric (`fields=cpu_usage`, what
    // a chart panel asks for).
    const plan = planTrend({ from: dayStart(0), to: dayStart(DAYS), stepSeconds: 3600 }, METRIC_SOURCES);
    const rawPlan = { ...plan, source: METRIC_SOURCES.find((s) => s.bucketSeconds === 0), p95: 'exact' };
    const agent = (i) => `agent-${String((i * 37) % AGENTS).padStart(3, '0')}`;
    const measureTrend = async (columns) => {
      // Interleaved (ten rollup reads per raw read), so both see the same host load.
      const rollupMs = [];
      const rawMs = [];
      const points = { rollup: 0, raw: 0 };
      await selectAgentTrend(db, agent(0), plan, columns); // warm-up
      await selectAgentTrend(db, agent(0), rawPlan, columns);
      const rawRuns = args.quick ? 5 : 40;
      for (let i = 1; i <= rawRuns * 10; i++) {
        const t = await timed(() => selectAgentTrend(db, agent(i), plan, columns));
        rollupMs.push(t.ms);
        points.rollup = t.result.length;
        if (i % 10 === 0) {
          const r = await timed(() => selectAgentTrend(db, agent(i), rawPlan, columns));
          rawMs.push(r.ms);
          points.raw = r.result.length;
        }
      }
      const summary = (ms, n) => ({ runs: ms.length, points: n, p50: r1(pct(ms, 50)), p95: r1(pct(ms, 95)), max: r1(Math.max(...ms)) });
      const fromRollup = summary(rollupMs, points.rollup);
      const fromRaw = summary(rawMs, points.raw);
      const trend = {
        metrics: columns.map((c) => c.column),
        source: plan.source.table,
        fromRollup,
        fromRaw,
        speedupP50: r1(fromRaw.p50 / fromRollup.p50),
        speedupP95: r1(fromRaw.p95 / fromRollup.p95),
      };
      // Server-side execution of the same two queries (EXPLAIN ANALYZE: no result
      // formatting or transfer), to separate the query from the 720-row round trip.
      const { text: rollupSql, params: rollupParams } = agentTrendSql(plan, columns);
      const { text: rawSql, params: rawParams } = agentTrendSql(rawPlan, columns);
      const execMs = async (sql, params, runs) => {
        const ms = [];
        for (let i = 1; i <= runs; i++) {
          const res = await db.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, [agent(i), ...params]);
          const plan0 = res.rows[0]['QUERY PLAN'][0];
          ms.push(plan0['Planning Time'] + plan0['Execution Time']);
        }
        return { runs, p50: r1(pct(ms, 50)), p95: r1(pct(ms, 95)) };
      };
      trend.server = { fromRollup: await execMs(rollupSql, rollupParams, 40), fromRaw: await execMs(rawSql, rawParams, args.quick ? 5 : 15) };
      trend.server.speedupP50 = r1(trend.server.fromRaw.p50 / trend.server.fromRollup.p50);
      trend.server.speedupP95 = r1(trend.server.fromRaw.p95 / trend.server.fromRollup.p95);
      log(`trend (${trend.metrics.length} metrics) from rollup`, fromRollup, 'from raw', fromRaw, 'server-side', trend.server);
      return trend;
    };
    out.trend = await measureTrend(METRIC_COLUMNS);
    out.trendOneMetric = await measureTrend(METRIC_COLUMNS.filter((c) => c.column === 'cpu_usage'));

    // One metrics tick of rollup maintenance, through the trigger, as the collector does it.
    await db.exec('ALTER TABLE agent_metrics ENABLE TRIGGER agent_metrics_rollup_invalidate');
    const ticks = [];
    const tickBase = dayStart(DAYS - 1).getTime() + 23 * 3600_000;
    for (let i = 0; i < (args.quick ? 5 : 20); i++) {
      const ts = new Date(tickBase + i * 30_000 + 1000).toISOString(); // a fresh second within the last hour
      const ins = await timed(() =>
        db.query(
          `INSERT INTO agent_metrics SELECT 'agent-' || lpad(a::text, 3, '0'), $1::timestamptz, 1, 1, 1, 1, 1, 1, 1, NULL
           FROM generate_series(0, $2::int - 1) a`,
          [ts, AGENTS],
        ),
      );
      const ref = await timed(() => refreshRollups(db));
      ticks.push({ insert: ins.ms, refresh: ref.ms, keys: ref.result.keys });
    }
    out.refreshPerTick = {
      agents: AGENTS,
      insertP50: r1(pct(ticks.map((t) => t.insert), 50)),
      refreshP50: r1(pct(ticks.map((t) => t.refresh), 50)),
      refreshP95: r1(pct(ticks.map((t) => t.refresh), 95)),
      keys: ticks[0].keys,
    };
    log('refresh per tick', out.refreshPerTick);

    const size = async (sql) => Number((await db.query(sql)).rows[0].b);
    const partitions = await size(
      `SELECT sum(pg_total_relation_size(c.oid))::bigint AS b FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'agent_metrics'::regclass AND c.relname <> 'agent_metrics_default'`,
    );
    const agentDays = AGENTS * DAYS;
    const r5 = await size(`SELECT pg_total_relation_size('agent_metrics_5m')::bigint AS b`);
    const r1h = await size(`SELECT pg_total_relation_size('agent_metrics_1h')::bigint AS b`);
    const flat = await size(`SELECT pg_total_relation_size('agent_metrics_flat')::bigint AS b`);
    const flatDays = Number((await db.query('SELECT count(*)::bigint AS n FROM agent_metrics_flat')).rows[0].n) / (AGENTS * 2880);
    out.disk = {
      rawPartitionsMb: mb(partitions),
      rawBytesPerAgentDay: Math.round(partitions / agentDays),
      rawBytesPerRow: r1(partitions / (agentDays * 2880)),
      rollup5mBytesPerAgentDay: Math.round(r5 / agentDays),
      rollup1hBytesPerAgentDay: Math.round(r1h / agentDays),
      flatBytesPerAgentDay: Math.round(flat / (AGENTS * flatDays)),
    };
    log('disk', out.disk);

    const prunes = pruning.map((p) => p.speedupDeletePlusVacuum);
    out.targets = {
      trendRollupP95Ms: { target: `< ${TARGETS.trendRollupP95Ms}`, got: out.trend.fromRollup.p95, ok: out.trend.fromRollup.p95 < TARGETS.trendRollupP95Ms },
      trendSpeedup: { target: `>= ${TARGETS.trendSpeedup}x`, got: out.trend.speedupP95, ok: out.trend.speedupP95 >= TARGETS.trendSpeedup },
      trendSpeedupOneMetric: { target: `>= ${TARGETS.trendSpeedup}x`, got: out.trendOneMetric.speedupP95, ok: out.trendOneMetric.speedupP95 >= TARGETS.trendSpeedup },
      trendSpeedupServer: { target: `>= ${TARGETS.trendSpeedup}x`, got: out.trend.server.speedupP95, ok: out.trend.server.speedupP95 >= TARGETS.trendSpeedup },
      pruneSpeedupDeleteOnly: { target: `>= ${TARGETS.pruneSpeedup}x`, got: Math.min(...pruning.map((p) => p.speedupDeleteOnly)), ok: Math.min(...pruning.map((p) => p.speedupDeleteOnly)) >= TARGETS.pruneSpeedup },
      pruneSpeedup: { target: `>= ${TARGETS.pruneSpeedup}x at every size`, got: Math.min(...prunes), ok: Math.min(...prunes) >= TARGETS.pruneSpeedup },
    };
    out.finished = new Date().toISOString();
    console.log(JSON.stringify(out, null, 2));
    const dir = path.join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `store-${out.started.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(out, null, 2));
    log(`written ${path.relative(ROOT, file)}`);
  } finally {
    await db.close().catch(() => undefined);
    if (!args.keep) await admin(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`).catch((err) => console.error('could not drop', DB_NAME, err.message));
    if (!args.keep && TABLESPACE) await admin(`DROP TABLESPACE IF EXISTS ${TABLESPACE}`).catch((err) => console.error('could not drop', TABLESPACE, err.message));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
