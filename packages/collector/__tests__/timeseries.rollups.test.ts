import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { insertMetrics, type MetricRow } from '../src/store/metrics';
import { migrate, readMigrations } from '../src/store/migrate';
import { ensurePartitions } from '../src/store/partitions';
import { recordPolls, type PollRecord } from '../src/store/polls';
import { METRIC_COLUMNS, METRIC_ROLLUP_COLUMNS, rebuildRollups, refreshRollups } from '../src/store/rollups';
import { insertServiceStatus, type ServiceRow } from '../src/store/services';
import type { Queryable } from '../src/store/db';
import { BACKENDS, createPgTestDb, describePg, MIGRATIONS_DIR, type TestDb } from '../../../test/testDb';

// A window that crosses midnight, so rows land in two daily partitions.
const BASE = Date.parse('2024-06-30T22:30:00Z');
const AGENTS = ['ra', 'rb', 'rc'];

type Row = Record<string, unknown>;

/** Relative closeness for floating point (different summation orders); exact for everything else. */
function expectSameRows(actual: Row[], expected: Row[], label: string) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    for (const key of Object.keys(e)) {
      const av = a[key];
      const ev = e[key];
      if (typeof ev === 'number' || (typeof ev === 'string' && /^-?\d/.test(ev))) {
        const x = Number(av);
        const y = Number(ev);
        if (Math.abs(x - y) > 1e-9 * Math.max(1, Math.abs(y))) throw new Error(`${label} row ${i} ${key}: ${x} ≠ ${y}`);
      } else if (ev instanceof Date || av instanceof Date) {
        expect([label, key, new Date(av as Date).toISOString()]).toEqual([label, key, new Date(ev as Date).toISOString()]);
      } else {
        expect([label, key, av]).toEqual([label, key, ev]);
      }
    }
  });
}

const ORIGIN = `TIMESTAMPTZ '2000-01-03 00:00:00+00'`;
const rawAggs = (alias = '') =>
  METRIC_COLUMNS.flatMap((c) => [
    ...(c.nullable ? [`count(${alias}${c.column}) AS ${c.column}_samples`] : []),
    ...c.aggs.map((a) =>
      a === 'p95' ? `percentile_cont(0.95) WITHIN GROUP (ORDER BY ${alias}${c.column}) AS ${c.column}_p95` : `${a}(${alias}${c.column}) AS ${c.column}_${a}`,
    ),
  ]).join(', ');

/** The reference: rollups computed in one GROUP BY straight from raw rows. */
async function referenceMetrics(q: Queryable, width: string): Promise<Row[]> {
  return (
    await q.query<Row>(
      `SELECT agent_id, date_bin(INTERVAL '${width}', ts, ${ORIGIN}) AS bucket, count(*) AS samples, ${rawAggs()}
       FROM agent_metrics WHERE agent_id = ANY($1) GROUP BY 1, 2 ORDER BY 1, 2`,
      [AGENTS],
    )
  ).rows;
}

const rollupRows = async (q: Queryable, table: string, order = 'agent_id, bucket') =>
  (await q.query<Row>(`SELECT * FROM ${table} WHERE agent_id = ANY($1) ORDER BY ${order}`, [AGENTS])).rows;

async function referenceServices(q: Queryable): Promise<Row[]> {
  return (
    await q.query<Row>(
      `SELECT agent_id, service_name, date_bin(INTERVAL '1 hour', ts, ${ORIGIN}) AS bucket, count(*) AS samples,
              count(*) FILTER (WHERE status = 'running') AS running_samples, count(*) FILTER (WHERE status = 'stopped') AS stopped_samples,
              count(*) FILTER (WHERE status = 'error') AS error_samples, avg(cpu_percent) AS cpu_percent_avg,
              max(cpu_percent) AS cpu_percent_max, max(memory_bytes) AS memory_bytes_max
       FROM service_status WHERE agent_id = ANY($1) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      [AGENTS],
    )
  ).rows;
}

async function referencePolls(q: Queryable): Promise<Row[]> {
  return (
    await q.query<Row>(
      `SELECT agent_id, tier, date_bin(INTERVAL '1 hour', ts, ${ORIGIN}) AS bucket, count(*) AS polls,
              count(*) FILTER (WHERE ok) AS ok_polls, avg(duration_ms) AS duration_ms_avg, max(duration_ms) AS duration_ms_max
       FROM agent_polls WHERE agent_id = ANY($1) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      [AGENTS],
    )
  ).rows;
}

/** An independent check of the 5-minute rollup in plain JS (float32 values, as `real` stores them). */
function jsFiveMinute(rows: readonly MetricRow[]): Map<string, { n: number; min: number; max: number; avg: number; p95: number }> {
  const seen = new Map<string, MetricRow>();
  for (const r of rows) if (!seen.has(`${r.agentId}|${r.ts}`)) seen.set(`${r.agentId}|${r.ts}`, r); // first write wins (ON CONFLICT DO NOTHING)
  const groups = new Map<string, number[]>();
  for (const r of seen.values()) {
    const bucket = new Date(Math.floor(Date.parse(r.ts) / 300_000) * 300_000).toISOString();
    const key = `${r.agentId}|${bucket}`;
    groups.set(key, [...(groups.get(key) ?? []), Math.fround(r.cpuUsage)]);
  }
  const out = new Map<string, { n: number; min: number; max: number; avg: number; p95: number }>();
  for (const [key, values] of groups) {
    const v = [...values].sort((a, b) => a - b);
    const pos = 0.95 * (v.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    out.set(key, {
      n: v.length,
      min: v[0]!,
      max: v.at(-1)!,
      avg: v.reduce((s, x) => s + x, 0) / v.length,
      p95: v[lo]! + (pos - lo) * (v[hi]! - v[lo]!),
    });
  }
  return out;
}

const value = (max: number) => fc.float({ min: 0, max, noNaN: true, noDefaultInfinity: true });
const metricArb = fc.record({
  agentId: fc.constantFrom(...AGENTS),
  offset: fc.integer({ min: 0, max: 3 * 3600 - 1 }),
  cpuUsage: value(100),
  memoryUsage: value(100),
  diskUsage: value(100),
  load1: value(64),
  load5: value(64),
  load15: value(64),
  temperature: fc.option(value(120), { nil: null }),
});
const serviceArb = fc.record({
  agentId: fc.constantFrom(...AGENTS),
  minute: fc.integer({ min: 0, max: 179 }),
  name: fc.constantFrom('nginx', 'sshd'),
  status: fc.constantFrom('running', 'running', 'stopped', 'error'),
  cpuPercent: fc.option(value(400), { nil: null }),
  memoryBytes: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: null }),
});
const pollArb = fc.record({
  agentId: fc.constantFrom(...AGENTS),
  offset: fc.integer({ min: 0, max: 3 * 3600 - 1 }),
  tier: fc.constantFrom('metrics', 'services', 'inventory') as fc.Arbitrary<'metrics' | 'services' | 'inventory'>,
  ok: fc.boolean(),
  durationMs: value(5000),
});
// Writes arrive in several batches; after some of them the collector drains.
const batchesArb = fc.array(
  fc.record({
    metrics: fc.array(metricArb, { maxLength: 40 }),
    services: fc.array(serviceArb, { maxLength: 12 }),
    polls: fc.array(pollArb, { maxLength: 12 }),
    refreshAfter: fc.boolean(),
  }),
  { minLength: 1, maxLength: 4 },
);

/** A metric row placed `offset` seconds after BASE. */
type MetricSample = Omit<MetricRow, 'ts' | 'uptimeSeconds'> & { offset: number };

const toMetric = (m: MetricSample): MetricRow => ({
  agentId: m.agentId,
  ts: new Date(BASE + m.offset * 1000).toISOString(),
  cpuUsage: m.cpuUsage,
  memoryUsage: m.memoryUsage,
  diskUsage: m.diskUsage,
  load1: m.load1,
  load5: m.load5,
  load15: m.load15,
  uptimeSeconds: 1,
  temperature: m.temperature,
});

async function clear(q: Queryable) {
  for (const table of ['agent_metrics', 'service_status', 'agent_polls', 'agent_metrics_5m', 'agent_metrics_1h', 'service_status_1h', 'agent_polls_1h', 'rollup_invalidations']) {
    await q.query(`DELETE FROM ${table} WHERE agent_id = ANY($1)`, [AGENTS]);
  }
}

async function expectRollupsMatchRaw(q: Queryable, written: readonly MetricRow[]) {
  expectSameRows(await rollupRows(q, 'agent_metrics_5m'), await referenceMetrics(q, '5 minutes'), 'agent_metrics_5m');
  expectSameRows(await rollupRows(q, 'agent_metrics_1h'), await referenceMetrics(q, '1 hour'), 'agent_metrics_1h');
  expectSameRows(await rollupRows(q, 'service_status_1h', 'agent_id, service_name, bucket'), await referenceServices(q), 'service_status_1h');
  expectSameRows(await rollupRows(q, 'agent_polls_1h', 'agent_id, tier, bucket'), await referencePolls(q), 'agent_polls_1h');
  const js = jsFiveMinute(written);
  const five = await rollupRows(q, 'agent_metrics_5m');
  expect(five.length).toBe(js.size);
  for (const r of five) {
    const e = js.get(`${r.agent_id}|${new Date(r.bucket as Date).toISOString()}`)!;
    expect(Number(r.samples)).toBe(e.n);
    // real comes back as its shortest decimal text: compare as float32.
    expect(Math.fround(Number(r.cpu_usage_min))).toBe(e.min);
    expect(Math.fround(Number(r.cpu_usage_max))).toBe(e.max);
    expect(Number(r.cpu_usage_avg)).toBeCloseTo(e.avg, 6);
    expect(Number(r.cpu_usage_p95)).toBeCloseTo(e.p95, 6);
  }
}

describe.each(BACKENDS)('rollups on %s', (backend, make) => {
  const suite = backend === 'postgres' ? describePg : describe;
  suite('equal the aggregates of their raw rows', () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await make();
      await ensurePartitions(t.db, new Date(BASE), 1);
    });
    afterAll(async () => t?.drop());

    test('the rollup tables have exactly the columns the code computes', async () => {
      const { rows } = await t.db.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'agent_metrics_1h' ORDER BY ordinal_position`,
      );
      expect(rows.map((r) => r.column_name)).toEqual(['agent_id', 'bucket', ...METRIC_ROLLUP_COLUMNS]);
    });

    test('property: after any sequence of write batches and drains, every rollup equals its raw GROUP BY (and a JS reference)', async () => {
      await fc.assert(
        fc.asyncProperty(batchesArb, async (batches) => {
          await clear(t.db);
          const written: MetricRow[] = [];
          for (const b of batches) {
            const metrics = b.metrics.map(toMetric);
            written.push(...metrics);
            await insertMetrics(t.db, metrics);
            const services: ServiceRow[] = b.services.map((s) => ({
              agentId: s.agentId, ts: new Date(BASE + s.minute * 60_000).toISOString(), name: s.name, status: s.status, pid: null, cpuPercent: s.cpuPercent, memoryBytes: s.memoryBytes,
            }));
            await insertServiceStatus(t.db, services);
            const polls: PollRecord[] = b.polls.map((p) => ({
              agentId: p.agentId, tier: p.tier, startedAt: new Date(BASE + p.offset * 1000), durationMs: p.durationMs, ok: p.ok, errorCode: null, errorMessage: null, hostname: null,
            }));
            await recordPolls(t.db, polls);
            if (b.refreshAfter) await refreshRollups(t.db, { batchSize: 7 }); // small batches: several per drain
          }
          await refreshRollups(t.db);
          await expectRollupsMatchRaw(t.db, written);
          const { rows } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM rollup_invalidations');
          expect(rows[0]!.n).toBe(0);
        }),
        { numRuns: backend === 'postgres' ? 20 : 10 },
      );
    });

    test('a drain recomputes only what was invalidated, is idempotent, and a late row updates an old bucket', async () => {
      await clear(t.db);
      const row = (offset: number, cpu: number): MetricRow => ({
        agentId: 'ra', ts: new Date(BASE + offset * 1000).toISOString(), cpuUsage: cpu, memoryUsage: 1, diskUsage: 1, load1: 1, load5: 1, load15: 1, uptimeSeconds: 1, temperature: null,
      });
      await insertMetrics(t.db, [row(0, 10), row(30, 20), row(3600, 50)]);
      expect(await refreshRollups(t.db)).toEqual({ keys: 2, batches: 1, pending: false });
      expect(await refreshRollups(t.db)).toEqual({ keys: 0, batches: 0, pending: false });
      const before = await rollupRows(t.db, 'agent_metrics_1h');
      expect(before.map((r) => [Number(r.samples), Number(r.cpu_usage_avg)])).toEqual([[2, 15], [1, 50]]);
      // Two hours later a row for the first hour arrives (a clock-skewed agent, a retried batch).
      await insertMetrics(t.db, [row(60, 60)]);
      expect(await refreshRollups(t.db)).toMatchObject({ keys: 1 });
      const after = await rollupRows(t.db, 'agent_metrics_1h');
      expect(after.map((r) => [Number(r.samples), Number(r.cpu_usage_avg), Number(r.cpu_usage_max)])).toEqual([[3, 30, 60], [1, 50, 50]]);
      // A drain stopped by its batch budget says so, and the next one finishes.
      await insertMetrics(t.db, Array.from({ length: 30 }, (_, i) => row(7200 + i * 300, i)));
      expect(await refreshRollups(t.db, { batchSize: 10, maxBatches: 2 })).toEqual({ keys: 20, batches: 2, pending: true });
      expect(await refreshRollups(t.db, { batchSize: 10 })).toEqual({ keys: 10, batches: 1, pending: false });
      await expectRollupsMatchRaw(t.db, [row(0, 10), row(30, 20), row(3600, 50), row(60, 60), ...Array.from({ length: 30 }, (_, i) => row(7200 + i * 300, i))]);
    });

    test('rebuildRollups (bulk, set-based) gives the same rows as the incremental drains', async () => {
      await insertServiceStatus(t.db, [
        { agentId: 'rc', ts: new Date(BASE + 60_000).toISOString(), name: 'nginx', status: 'running', pid: 1, cpuPercent: 1.5, memoryBytes: 10 },
        { agentId: 'rc', ts: new Date(BASE + 360_000).toISOString(), name: 'nginx', status: 'stopped', pid: null, cpuPercent: null, memoryBytes: null },
        { agentId: 'rc', ts: new Date(BASE + 3700_000).toISOString(), name: 'sshd', status: 'error', pid: null, cpuPercent: 0, memoryBytes: 7 },
      ]);
      await recordPolls(t.db, [60, 90, 3700].map((s, i) => ({
        agentId: 'rc', tier: 'metrics' as const, startedAt: new Date(BASE + s * 1000), durationMs: 5 + i, ok: i !== 1, errorCode: null, errorMessage: null, hostname: null,
      })));
      await refreshRollups(t.db);
      const tables = [
        ['agent_metrics_5m', 'agent_id, bucket'],
        ['service_status_1h', 'agent_id, service_name, bucket'],
        ['agent_polls_1h', 'agent_id, tier, bucket'],
      ] as const;
      const incremental = await Promise.all(tables.map(([table, key]) => rollupRows(t.db, table, key)));
      for (const rows of incremental) expect(rows.length).toBeGreaterThan(0);
      const [from, to] = [new Date(BASE - 1800_000), new Date(BASE + 5.5 * 3600_000)];
      for (const [table] of tables) await t.db.query(`DELETE FROM ${table} WHERE bucket >= $1 AND bucket < $2`, [from.toISOString(), to.toISOString()]);
      await rebuildRollups(t.db, from, to);
      for (const [i, [table, key]] of tables.entries()) expectSameRows(await rollupRows(t.db, table, key), incremental[i]!, `rebuilt ${table}`);
      await expect(rebuildRollups(t.db, new Date(BASE), new Date(BASE + 3600_000))).rejects.toThrow(/whole hours/);
    });

    test('the TimescaleDB continuous-aggregate definitions (migration 000004) compute the same rows as these rollups', async () => {
      // time_bucket() with TimescaleDB's default origin is date_bin() from
      // 2000-01-03; with it, each continuous aggregate's SELECT runs here.
      await insertServiceStatus(t.db, [
        { agentId: 'rb', ts: new Date(BASE).toISOString(), name: 'nginx', status: 'running', pid: 1, cpuPercent: 2.5, memoryBytes: 10 },
        { agentId: 'rb', ts: new Date(BASE + 300_000).toISOString(), name: 'nginx', status: 'error', pid: null, cpuPercent: null, memoryBytes: null },
        { agentId: 'rb', ts: new Date(BASE + 3600_000).toISOString(), name: 'sshd', status: 'stopped', pid: null, cpuPercent: 0, memoryBytes: 5 },
      ]);
      await recordPolls(t.db, [0, 30, 4000].map((s, i) => ({
        agentId: 'rb', tier: 'metrics' as const, startedAt: new Date(BASE + s * 1000), durationMs: 10 * i + 1, ok: i !== 1, errorCode: null, errorMessage: null, hostname: null,
      })));
      await refreshRollups(t.db);
      await t.db.query(
        `CREATE OR REPLACE FUNCTION time_bucket(interval, timestamptz) RETURNS timestamptz
         LANGUAGE sql IMMUTABLE AS $$ SELECT date_bin($1, $2, ${ORIGIN}) $$`,
      );
      const sql = fs.readFileSync(path.join(MIGRATIONS_DIR, '000004_timescaledb.sql'), 'utf8');
      const views = [...sql.matchAll(/CREATE MATERIALIZED VIEW (\w+)\s+WITH \([^)]*\) AS\s+([\s\S]*?)\s+WITH NO DATA/g)];
      expect(views.map((v) => v[1])).toEqual(['agent_metrics_5m', 'agent_metrics_1h', 'service_status_1h', 'agent_polls_1h']);
      for (const [, name, select] of views) {
        const keys = name === 'service_status_1h' ? 'agent_id, service_name, bucket' : name === 'agent_polls_1h' ? 'agent_id, tier, bucket' : 'agent_id, bucket';
        const cagg = (await t.db.query<Row>(`SELECT * FROM (${select}) v WHERE agent_id = ANY($1) ORDER BY ${keys}`, [AGENTS])).rows;
        const table = await rollupRows(t.db, name!, keys);
        expect(cagg.length).toBeGreaterThan(0);
        expect(Object.keys(cagg[0]!)).toEqual(Object.keys(table[0]!)); // same names, same order
        expectSameRows(cagg, table, `${name} as a continuous aggregate`);
      }
    });
  });
});

describePg('upgrading a database that already holds rows', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createPgTestDb({ migrated: false });
  });
  afterAll(async () => t?.drop());

  test('000003 turns the tables into partitioned ones without copying, keeps every row, and queues their rollups', async () => {
    const all = readMigrations(MIGRATIONS_DIR);
    await migrate(t.db, all.slice(0, 2));
    const rows: MetricRow[] = Array.from({ length: 50 }, (_, i) => ({
      agentId: AGENTS[i % 3]!, ts: new Date(BASE + i * 400_000).toISOString(), cpuUsage: i, memoryUsage: 50, diskUsage: 10, load1: i / 10, load5: 1, load15: 1, uptimeSeconds: 1, temperature: i % 2 ? 40 : null,
    }));
    await insertMetrics(t.db, rows);
    await insertServiceStatus(t.db, [{ agentId: 'ra', ts: new Date(BASE).toISOString(), name: 'nginx', status: 'running', pid: 1, cpuPercent: 1, memoryBytes: 1 }]);
    await migrate(t.db, all);
    const kind = await t.db.query<{ relkind: string }>(`SELECT relkind FROM pg_class WHERE relname = 'agent_metrics'`);
    expect(kind.rows[0]!.relkind).toBe('p');
    const parts = await t.db.query<{ part: string; n: number }>(`SELECT tableoid::regclass::text AS part, count(*)::int AS n FROM agent_metrics GROUP BY 1`);
    expect(parts.rows).toEqual([{ part: 'agent_metrics_default', n: 50 }]);
    await refreshRollups(t.db);
    await expectRollupsMatchRaw(t.db, rows);
    // And the table takes new partitions with the old rows of their day moved in.
    const made = await ensurePartitions(t.db, new Date(BASE), 1);
    expect(made.find((m) => m.table === 'agent_metrics')!.movedRows).toBe(rows.filter((r) => r.ts < '2024-07-02').length);
  });
});
