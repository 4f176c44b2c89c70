import pino from 'pino';
import { Registry } from 'prom-client';
import request from 'supertest';
import { createApp } from '../src/http/createApp';
import { upsertAgents } from '../src/store/agents';
import type { Queryable } from '../src/store/db';
import { insertMetrics, type MetricRow } from '../src/store/metrics';
import { ensurePartitions } from '../src/store/partitions';
import { recordPolls, type PollRecord } from '../src/store/polls';
import { refreshRollups } from '../src/store/rollups';
import { insertServiceStatus, type ServiceRow } from '../src/store/services';
import { BACKENDS, describePg, type TestDb } from '../../../test/testDb';

const ORIGIN = `TIMESTAMPTZ '2000-01-03 00:00:00+00'`;
const MIN = 60_000;
const HOUR = 3_600_000;
const iso = (t: number) => new Date(t).toISOString();

/** Deterministic pseudo-random values (mulberry32), so failures reproduce. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- Trend fixture: two agents, 8 h across midnight (two daily partitions), 30 s samples.
const T0 = Date.parse('2025-09-02T20:00:00Z');
const T1 = Date.parse('2025-09-03T04:00:00Z');

function trendFixture(): { metrics: MetricRow[]; services: ServiceRow[] } {
  const rand = rng(42);
  const metrics: MetricRow[] = [];
  for (const [agentId, offset] of [['ta', 0], ['tb', 7_000]] as const) {
    for (let t = T0 + offset; t < T1; t += 30_000) {
      // ta has a 30-minute hole: gaps must come back as nulls.
      if (agentId === 'ta' && t >= Date.parse('2025-09-02T23:10:00Z') && t < Date.parse('2025-09-02T23:40:00Z')) continue;
      metrics.push({
        agentId,
        ts: iso(t),
        cpuUsage: Math.round(rand() * 10_000) / 100,
        memoryUsage: 40 + Math.round(rand() * 2000) / 100,
        diskUsage: 60 + (t - T0) / HOUR,
        load1: Math.round(rand() * 800) / 100,
        load5: Math.round(rand() * 400) / 100,
        load15: Math.round(rand() * 200) / 100,
        uptimeSeconds: 1000,
        temperature: rand() < 0.3 ? null : 40 + Math.round(rand() * 300) / 10,
      });
    }
  }
  const services: ServiceRow[] = [];
  for (let t = T0; t < T1; t += 5 * MIN) {
    const down = t >= Date.parse('2025-09-03T01:10:00Z') && t < Date.parse('2025-09-03T02:25:00Z');
    services.push({ agentId: 'ta', ts: iso(t + 2000), name: 'nginx', status: down ? (t % (10 * MIN) === 0 ? 'error' : 'stopped') : 'running', pid: 1, cpuPercent: 1, memoryBytes: 100 });
    services.push({ agentId: 'ta', ts: iso(t + 2500), name: 'sshd', status: 'running', pid: 2, cpuPercent: 0.1, memoryBytes: 50 });
  }
  return { metrics, services };
}

// ---- Report fixture: a hand-computable day, 2025-09-10 (a Wednesday).
const D = Date.parse('2025-09-10T00:00:00Z');
const at = (h: number, m = 0) => D + h * HOUR + m * MIN;

function reportFixture(): { metrics: MetricRow[]; polls: PollRecord[]; services: ServiceRow[] } {
  const metrics: MetricRow[] = [];
  const polls: PollRecord[] = [];
  const services: ServiceRow[] = [];
  const m = (agentId: string, t: number, cpu: number, mem: number, load: number): MetricRow => ({
    agentId, ts: iso(t), cpuUsage: cpu, memoryUsage: mem, diskUsage: 20, load1: load, load5: load, load15: load, uptimeSeconds: 1, temperature: null,
  });
  const poll = (agentId: string, tier: PollRecord['tier'], t: number, ok: boolean): PollRecord => ({
    agentId, tier, startedAt: new Date(t), durationMs: 5, ok, errorCode: ok ? null : 'timeout', errorMessage: ok ? null : 'no answer', hostname: null,
  });
  for (let t = D; t < D + 24 * HOUR; t += 30_000) {
    // web-1: CPU 10 %, 90 % from 10:00 to 11:15 (150 samples, 15 five-minute buckets); load follows.
    const spike = t >= at(10) && t < at(11, 15);
    metrics.push(m('web-1', t, spike ? 90 : 10, 50, spike ? 1.5 : 0.5));
    polls.push(poll('web-1', 'metrics', t + 1000, true));
    // db-1: unreachable from 12:00 to 18:00 (720 polls fail, no samples).
    const outage = t >= at(12) && t < at(18);
    if (!outage) metrics.push(m('db-1', t, 40, 70, 2));
    polls.push(poll('db-1', 'metrics', t + 1000, !outage));
  }
  for (let t = D; t < D + 24 * HOUR; t += 5 * MIN) {
    services.push({ agentId: 'web-1', ts: iso(t + 3000), name: 'sshd', status: 'running', pid: 1, cpuPercent: 0, memoryBytes: 1 });
    const outage = t >= at(12) && t < at(18);
    // The services tier's own polls all succeed: availability counts metrics-tier polls only.
    polls.push(poll('db-1', 'services', t + 2000, true));
    if (outage) continue;
    const stopped = t >= at(8) && t < at(8, 30); // 6 samples
    services.push({ agentId: 'db-1', ts: iso(t + 3000), name: 'nginx', status: stopped ? 'stopped' : 'running', pid: stopped ? null : 1, cpuPercent: 0, memoryBytes: 1 });
  }
  return { metrics, polls, services };
}

async function insertIncidents(q: Queryable) {
  for (const [key, opened] of [['a1', at(3)], ['a2', at(14)], ['a0', at(-20)]] as const) {
    await q.query(
      `INSERT INTO incidents (alert_key, rule, agent_id, severity, peak_severity, summary, opened_at, updated_at)
       VALUES ($1, 'agent_down', 'db-1', 'critical', 'critical', 'db-1 down', $2, $2)`,
      [key, iso(opened)],
    );
  }
}

type Row = Record<string, unknown>;
type Point = Record<string, number | string | null>;

function expectClose(actual: unknown, expected: unknown, label: string) {
  if (expected === null || expected === undefined) {
    if (actual !== null) throw new Error(`${label}: expected null, got ${String(actual)}`);
    return;
  }
  const x = Number(actual);
  const y = Number(expected);
  if (actual === null || Math.abs(x - y) > 1e-9 * Math.max(1, Math.abs(y))) throw new Error(`${label}: ${String(actual)} ≠ ${y}`);
}

const RAW_FIELDS: Array<[field: string, sql: string]> = [
  ['cpu_usage', 'avg(cpu_usage)'], ['cpu_usage_min', 'min(cpu_usage)'], ['cpu_usage_max', 'max(cpu_usage)'],
  ['memory_usage', 'avg(memory_usage)'], ['memory_usage_max', 'max(memory_usage)'],
  ['disk_usage', 'avg(disk_usage)'], ['disk_usage_min', 'min(disk_usage)'],
  ['load_average_1m', 'avg(load_average_1m)'], ['load_average_1m_max', 'max(load_average_1m)'],
  ['load_average_15m', 'avg(load_average_15m)'],
  ['temperature', 'avg(temperature)'], ['temperature_max', 'max(temperature)'],
];
const P95_FIELDS = ['cpu_usage', 'memory_usage', 'load_average_1m'];

/** The raw-SQL reference for one agent's series: plain GROUP BY over raw rows, nothing shared with the code under test. */
async function referenceSeries(q: Queryable, agent: string, from: string, to: string, stepSeconds: number, sourceSeconds: number): Promise<Map<string, Row>> {
  const bucket = `date_bin(make_interval(secs => ${stepSeconds}), ts, ${ORIGIN})`;
  const { rows } = await q.query<Row>(
    `SELECT ${bucket} AS bucket, count(*) AS samples, ${RAW_FIELDS.map(([f, sql]) => `${sql} AS ${f}`).join(', ')},
            ${P95_FIELDS.map((f) => `percentile_cont(0.95) WITHIN GROUP (ORDER BY ${f}) AS ${f}_p95`).join(', ')}
     FROM agent_metrics WHERE agent_id = $1 AND ts >= $2 AND ts < $3 GROUP BY 1`,
    [agent, from, to],
  );
  const out = new Map(rows.map((r) => [new Date(r.bucket as Date).toISOString(), r]));
  if (sourceSeconds > 0 && sourceSeconds !== stepSeconds) {
    // The documented approximation: the sample-weighted mean of the source buckets' exact p95s.
    const { rows: approx } = await q.query<Row>(
      `WITH sub AS (
         SELECT date_bin(make_interval(secs => ${sourceSeconds}), ts, ${ORIGIN}) AS sb, count(*) AS n,
                ${P95_FIELDS.map((f) => `percentile_cont(0.95) WITHIN GROUP (ORDER BY ${f}) AS ${f}`).join(', ')}
         FROM agent_metrics WHERE agent_id = $1 AND ts >= $2 AND ts < $3 GROUP BY 1)
       SELECT date_bin(make_interval(secs => ${stepSeconds}), sb, ${ORIGIN}) AS bucket,
              ${P95_FIELDS.map((f) => `sum(${f} * n) / sum(n) AS ${f}_p95`).join(', ')}
       FROM sub GROUP BY 1`,
      [agent, from, to],
    );
    for (const a of approx) Object.assign(out.get(new Date(a.bucket as Date).toISOString())!, a);
  }
  return out;
}

describe.each(BACKENDS)('trend, fleet, service-history and report queries on %s', (backend, make) => {
  const suite = backend === 'postgres' ? describePg : describe;
  suite('against raw-SQL references and hand-computed values', () => {
    let t: TestDb;
    let app: ReturnType<typeof createApp>;
    beforeAll(async () => {
      t = await make();
      await ensurePartitions(t.db, new Date(T0), 1); // 2025-09-02 and -03: the fixture spans both
      await ensurePartitions(t.db, new Date(D), 1);
      await upsertAgents(t.db, ['ta', 'tb', 'web-1', 'db-1'].map((id) => ({ id, baseUrl: 'http://127.0.0.1:1', token: null })));
      const trend = trendFixture();
      await insertMetrics(t.db, trend.metrics);
      await insertServiceStatus(t.db, trend.services);
      const report = reportFixture();
      await insertMetrics(t.db, report.metrics);
      await recordPolls(t.db, report.polls);
      await insertServiceStatus(t.db, report.services);
      await insertIncidents(t.db);
      while ((await refreshRollups(t.db, { batchSize: 5000 })).pending);
      app = createApp({
        db: t.db, registry: new Registry(), logger: pino({ level: 'silent' }), version: 'test',
        now: () => new Date('2025-09-11T08:00:00Z'), servicesIntervalSeconds: 300,
      });
    });
    afterAll(async () => t?.drop());

    test.each([
      // agent, from, to, step, source, p95
      ['ta', '2025-09-02T20:17:13Z', '2025-09-03T03:41:00Z', '30s', 'agent_metrics', 'exact'],
      ['tb', '2025-09-02T23:00:00Z', '2025-09-03T01:00:00Z', '2m', 'agent_metrics', 'exact'],
      ['ta', '2025-09-02T21:03:00Z', '2025-09-03T03:00:00Z', '5m', 'agent_metrics_5m', 'exact'],
      ['ta', '2025-09-02T20:00:00Z', '2025-09-03T04:00:00Z', '15m', 'agent_metrics_5m', 'approximate'],
      ['tb', '2025-09-02T19:00:00Z', '2025-09-03T05:00:00Z', '1h', 'agent_metrics_1h', 'exact'],
      ['ta', '2025-09-02T20:30:00Z', '2025-09-03T03:30:00Z', '3h', 'agent_metrics_1h', 'approximate'],
      ['ta', '2025-09-02T00:00:00Z', '2025-09-04T00:00:00Z', '1d', 'agent_metrics_1h', 'approximate'],
    ])('%s %s → %s at %s is served from %s (p95 %s) and equals raw SQL, bucket by bucket, gaps as nulls', async (agent, from, to, step, source, p95) => {
      const res = await request(app).get(`/api/v1/agents/${agent}/metrics`).query({ from, to, step }).expect(200);
      expect(res.body).toMatchObject({ agent_id: agent, step, source, p95 });
      const stepSeconds = res.body.step_seconds as number;
      const sourceSeconds = source === 'agent_metrics' ? 0 : source.endsWith('5m') ? 300 : 3600;
      const ref = await referenceSeries(t.db, agent, res.body.from, res.body.to, stepSeconds, sourceSeconds);
      const points = res.body.points as Point[];
      expect(points.length).toBe((Date.parse(res.body.to) - Date.parse(res.body.from)) / (stepSeconds * 1000));
      expect(points.filter((p) => p.samples !== 0).length).toBe(ref.size);
      expect(ref.size).toBeGreaterThan(0);
      for (const p of points) {
        const r = ref.get(p.ts as string);
        if (!r) {
          expect(p).toMatchObject({ samples: 0, cpu_usage: null, cpu_usage_p95: null, temperature: null });
          continue;
        }
        expect(p.samples).toBe(Number(r.samples));
        for (const [field] of RAW_FIELDS) expectClose(p[field], r[field], `${p.ts} ${field}`);
        for (const f of P95_FIELDS) expectClose(p[`${f}_p95`], r[`${f}_p95`], `${p.ts} ${f}_p95`);
      }
      if (step === '30s') expect(points.some((p) => p.samples === 0)).toBe(true); // ta's hole
    });

    test.each([
      ['30s', 'agent_metrics'],
      ['5m', 'agent_metrics_5m'],
      ['15m', 'agent_metrics_5m'],
      ['1h', 'agent_metrics_1h'],
      ['3h', 'agent_metrics_1h'],
    ])('fields= at %s (from %s): only the named metrics, with the same values as the full series', async (step, source) => {
      const q = { from: '2025-09-02T20:00:00Z', to: '2025-09-03T04:00:00Z', step };
      const full = await request(app).get('/api/v1/agents/ta/metrics').query(q).expect(200);
      const some = await request(app).get('/api/v1/agents/ta/metrics').query({ ...q, fields: 'temperature, cpu_usage,cpu_usage' }).expect(200);
      expect(some.body).toMatchObject({ source, step, from: full.body.from, to: full.body.to, p95: full.body.p95 });
      const keys = ['ts', 'samples', 'cpu_usage', 'cpu_usage_min', 'cpu_usage_max', 'cpu_usage_p95', 'temperature', 'temperature_min', 'temperature_max'];
      const pick = (p: Point) => Object.fromEntries(keys.map((k) => [k, p[k]]));
      expect(some.body.points.length).toBe(full.body.points.length);
      for (const p of some.body.points as Point[]) expect(Object.keys(p).sort()).toEqual([...keys].sort());
      expect(some.body.points).toEqual((full.body.points as Point[]).map(pick));
      expect((some.body.points as Point[]).some((p) => p.samples !== 0 && p.cpu_usage !== null)).toBe(true);
    });

    test.each([
      ['5m', 'agent_metrics_5m', { agent: 'ta,tb' }],
      ['1m', 'agent_metrics', {}],
      ['2h', 'agent_metrics_1h', { agent: 'tb' }],
    ])('fleet series at %s (from %s) equals raw SQL: mean of all samples, max of any, p95 across agents', async (step, source, extra) => {
      const from = '2025-09-02T22:00:00Z';
      const to = '2025-09-03T02:00:00Z';
      const res = await request(app).get('/api/v1/fleet/metrics').query({ from, to, step, ...extra }).expect(200);
      expect(res.body).toMatchObject({ step, source, p95: 'across_agents', agents: 'agent' in extra ? extra.agent.split(',') : 'all' });
      const ids = 'agent' in extra ? extra.agent.split(',') : ['ta', 'tb'];
      const { rows } = await t.db.query<Row>(
        `WITH pa AS (
           SELECT agent_id, date_bin(make_interval(secs => $4), ts, ${ORIGIN}) AS b, count(*) AS n, avg(cpu_usage) AS a, max(cpu_usage) AS m, avg(memory_usage) AS ma
           FROM agent_metrics WHERE agent_id = ANY($1) AND ts >= $2 AND ts < $3 GROUP BY 1, 2)
         SELECT b, count(*) AS agents, sum(n) AS samples, sum(a * n) / sum(n) AS cpu, max(m) AS cpu_max,
                percentile_cont(0.95) WITHIN GROUP (ORDER BY a) AS cpu_p95, percentile_cont(0.95) WITHIN GROUP (ORDER BY ma) AS mem_p95
         FROM pa GROUP BY b`,
        [ids, res.body.from, res.body.to, res.body.step_seconds],
      );
      const ref = new Map(rows.map((r) => [new Date(r.b as Date).toISOString(), r]));
      const points = res.body.points as Point[];
      expect(points.filter((p) => p.agents !== 0).length).toBe(ref.size);
      for (const p of points) {
        const r = ref.get(p.ts as string);
        if (!r) {
          expect(p).toMatchObject({ agents: 0, samples: 0, cpu_usage: null });
          continue;
        }
        expect([p.agents, p.samples]).toEqual([Number(r.agents), Number(r.samples)]);
        expectClose(p.cpu_usage, r.cpu, `${p.ts} cpu`);
        expectClose(p.cpu_usage_max, r.cpu_max, `${p.ts} cpu max`);
        expectClose(p.cpu_usage_p95, r.cpu_p95, `${p.ts} cpu p95`);
        expectClose(p.memory_usage_p95, r.mem_p95, `${p.ts} memory p95`);
      }
    });

    test.each([
      ['5m', 'service_status'],
      ['15m', 'service_status'],
      ['1h', 'service_status_1h'],
      ['2h', 'service_status_1h'],
    ])('service history at %s (from %s) equals raw counts, with uptime and downtime per service', async (step, source) => {
      const from = '2025-09-02T20:00:00Z';
      const to = '2025-09-03T04:00:00Z';
      const res = await request(app).get('/api/v1/agents/ta/services/history').query({ from, to, step }).expect(200);
      expect(res.body).toMatchObject({ agent_id: 'ta', step, source, sample_interval_seconds: 300 });
      const { rows } = await t.db.query<Row>(
        `SELECT service_name, date_bin(make_interval(secs => $4), ts, ${ORIGIN}) AS b, count(*) AS n,
                count(*) FILTER (WHERE status = 'running') AS running, count(*) FILTER (WHERE status = 'error') AS errors
         FROM service_status WHERE agent_id = 'ta' AND ts >= $2 AND ts < $3 AND $1 GROUP BY 1, 2`,
        [true, res.body.from, res.body.to, res.body.step_seconds],
      );
      const services = res.body.services as Array<{ name: string; samples: number; running_samples: number; uptime_percent: number; downtime_seconds: number; points: Point[] }>;
      expect(services.map((s) => s.name)).toEqual(['nginx', 'sshd']);
      // 96 samples each; nginx is down from 01:10 to 02:25 (15 samples).
      expect(services.map((s) => [s.samples, s.running_samples, s.downtime_seconds])).toEqual([[96, 81, 15 * 300], [96, 96, 0]]);
      expect(services[0]!.uptime_percent).toBeCloseTo((81 / 96) * 100, 10);
      expect(services[1]!.uptime_percent).toBe(100);
      for (const s of services) {
        for (const p of s.points) {
          const r = rows.find((x) => x.service_name === s.name && new Date(x.b as Date).toISOString() === p.ts);
          expect([p.ts, p.samples, p.running, p.error]).toEqual([p.ts, Number(r?.n ?? 0), Number(r?.running ?? 0), Number(r?.errors ?? 0)]);
          if (r) expect(p.uptime_percent).toBeCloseTo((100 * Number(r.running)) / Number(r.n), 10);
          else expect(p.uptime_percent).toBeNull();
        }
      }
      const one = await request(app).get('/api/v1/agents/ta/services/history').query({ from, to, step, service: 'sshd' }).expect(200);
      expect(one.body.services.map((s: { name: string }) => s.name)).toEqual(['sshd']);
    });

    // Hand-computed (see reportFixture):
    //  web-1: CPU 10 % but 90 % for 150 of 2880 samples → mean 40800/2880; p95 of the 288
    //         five-minute means (273 × 10, 15 × 90) interpolates at 0.95·287 = 272.65 →
    //         10 + 0.65·80 = 62; load 0.5/1.5 the same way → mean 1590/2880, p95 1.15.
    //  db-1:  6 h unreachable → 2160 samples, 2160/2880 = 75 % of metrics polls ok;
    //         nginx stopped for 6 of its 216 samples → 1800 s down; 2 incidents that day.
    const expectedAgents = (incidentsDb1: number) => [
      {
        agent_id: 'db-1', samples: 2160,
        cpu_usage: { avg: 40, p95: 40, max: 40 }, memory_usage: { avg: 70, p95: 70, max: 70 }, load_average_1m: { avg: 2, p95: 2, max: 2 },
        availability_percent: 75, polls: 2880, service_downtime_seconds: 1800,
        services: [{ name: 'nginx', samples: 216, uptime_percent: (210 / 216) * 100, downtime_seconds: 1800 }],
        incidents: incidentsDb1,
      },
      {
        agent_id: 'web-1', samples: 2880,
        cpu_usage: { avg: 40800 / 2880, p95: 62, max: 90 }, memory_usage: { avg: 50, p95: 50, max: 50 }, load_average_1m: { avg: 1590 / 2880, p95: 1.15, max: 1.5 },
        availability_percent: 100, polls: 2880, service_downtime_seconds: 0,
        services: [{ name: 'sshd', samples: 288, uptime_percent: 100, downtime_seconds: 0 }],
        incidents: 0,
      },
    ];

    function expectDeepClose(actual: unknown, expected: unknown, label = 'report'): void {
      if (typeof expected === 'number') return expectClose(actual, expected, label);
      if (Array.isArray(expected)) {
        expect(Array.isArray(actual) && actual.length).toBe(expected.length);
        expected.forEach((e, i) => expectDeepClose((actual as unknown[])[i], e, `${label}[${i}]`));
        return;
      }
      if (expected && typeof expected === 'object') {
        expect(Object.keys(actual as object).sort()).toEqual(Object.keys(expected).sort());
        for (const [k, v] of Object.entries(expected)) expectDeepClose((actual as Record<string, unknown>)[k], v, `${label}.${k}`);
        return;
      }
      expect([label, actual]).toEqual([label, expected]);
    }

    test.each([
      ['day', '2025-09-10', '2025-09-10T00:00:00.000Z', '2025-09-11T00:00:00.000Z', 2],
      ['day', undefined, '2025-09-10T00:00:00.000Z', '2025-09-11T00:00:00.000Z', 2], // the last complete day before now
      ['week', '2025-09-10T12:00:00Z', '2025-09-08T00:00:00.000Z', '2025-09-15T00:00:00.000Z', 3], // + the 09-09 incident
      ['month', '2025-09-30', '2025-09-01T00:00:00.000Z', '2025-10-01T00:00:00.000Z', 3],
    ])('report %s at %p on the fixture fleet equals the hand-computed values', async (period, start, from, to, incidents) => {
      const res = await request(app).get('/api/v1/reports').query({ period, agent: 'web-1,db-1', ...(start ? { start } : {}) }).expect(200);
      expect(res.body).toMatchObject({ period, from, to, generated_at: '2025-09-11T08:00:00.000Z' });
      expectDeepClose(res.body.agents, expectedAgents(incidents));
    });

    test('report without an agent filter covers every registered agent (the trend agents had no data that day)', async () => {
      const res = await request(app).get('/api/v1/reports').query({ period: 'day', start: '2025-09-10' }).expect(200);
      expect(res.body.agents.map((a: { agent_id: string }) => a.agent_id)).toEqual(['db-1', 'ta', 'tb', 'web-1']);
      expect(res.body.agents[1]).toMatchObject({ agent_id: 'ta', samples: 0, cpu_usage: { avg: null, p95: null, max: null }, availability_percent: null, polls: 0, services: [], incidents: 0 });
    });

    test('report as CSV: one row per agent, the same numbers', async () => {
      const res = await request(app).get('/api/v1/reports').query({ period: 'day', start: '2025-09-10', agent: 'db-1,web-1', format: 'csv' }).expect(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.headers['content-disposition']).toBe('attachment; filename=viworks-report-day-2025-09-10.csv');
      const lines = res.text.split('\r\n');
      expect(lines).toHaveLength(4);
      expect(lines[3]).toBe('');
      expect(lines[0]).toBe(
        'agent_id,period,from,to,samples,cpu_usage_avg,cpu_usage_p95,cpu_usage_max,memory_usage_avg,memory_usage_p95,memory_usage_max,' +
          'load_average_1m_avg,load_average_1m_p95,load_average_1m_max,availability_percent,polls,service_downtime_seconds,services_down,incidents',
      );
      const cells = lines.slice(1, 3).map((l) => l.split(','));
      const expected = [
        ['db-1', 'day', '2025-09-10T00:00:00.000Z', '2025-09-11T00:00:00.000Z', 2160, 40, 40, 40, 70, 70, 70, 2, 2, 2, 75, 2880, 1800, 'nginx:1800', 2],
        ['web-1', 'day', '2025-09-10T00:00:00.000Z', '2025-09-11T00:00:00.000Z', 2880, 40800 / 2880, 62, 90, 50, 50, 50, 1590 / 2880, 1.15, 1.5, 100, 2880, 0, '', 0],
      ];
      cells.forEach((row, i) => {
        expect(row).toHaveLength(expected[i]!.length);
        row.forEach((cell, j) => {
          const e = expected[i]![j]!;
          if (typeof e === 'number') expectClose(Number(cell), e, `csv ${i}:${j}`);
          else expect(cell).toBe(e);
        });
      });
    });

    test.each([
      ['/api/v1/fleet/metrics?agent=nobody', 404, 'unknown_agent', /^no agent with id "nobody"$/],
      ['/api/v1/fleet/metrics?agent=ta,nobody', 404, 'unknown_agent', /"nobody"/],
      ['/api/v1/fleet/metrics?agent=bad%20id', 400, 'invalid_query', /^agent: agent ids are 1-50 characters/],
      ['/api/v1/fleet/metrics?agent=', 400, 'invalid_query', /^agent: must list 1 to 1000 agent ids/],
      ['/api/v1/fleet/metrics?from=2025-09-01T00:00:00Z&to=2025-09-08T00:00:00Z&step=30s', 400, 'too_many_points', /20160 points; at most 10000/],
      ['/api/v1/fleet/metrics?from=2025-09-02T00:00:00Z&to=2025-09-01T00:00:00Z', 400, 'invalid_range', /^from must be before to$/],
      ['/api/v1/agents/ta/metrics?step=367d', 400, 'invalid_query', /^step: must be at most 366d$/],
      ['/api/v1/agents/ta/metrics?step=5x', 400, 'invalid_query', /^step: must be a duration such as 30s, 5m, 1h or 1d$/],
      ['/api/v1/agents/ta/metrics?fields=cpu_usage,cpu', 400, 'invalid_query', /^fields: unknown metric "cpu"; known: cpu_usage, memory_usage, disk_usage, load_average_1m/],
      ['/api/v1/agents/ta/metrics?fields=', 400, 'invalid_query', /^fields: must name at least one metric$/],
      ['/api/v1/agents/ta/metrics?fields=cpu_usage&fields=memory_usage', 400, 'invalid_query', /^fields: /],
      ['/api/v1/agents/nobody/services/history', 404, 'unknown_agent', /^no agent with id "nobody"$/],
      ['/api/v1/agents/ta/services/history?service=nope', 404, 'unknown_service', /^agent "ta" has never reported a service named "nope"$/],
      ['/api/v1/agents/ta/services/history?from=noon', 400, 'invalid_query', /^from: must be an ISO 8601 time/],
      ['/api/v1/agents/ta/services/history?limit=5', 400, 'invalid_query', /limit/],
      ['/api/v1/reports', 400, 'invalid_query', /^period: must be day, week or month$/],
      ['/api/v1/reports?period=year', 400, 'invalid_query', /^period: must be day, week or month$/],
      ['/api/v1/reports?period=day&start=2030-01-01', 400, 'invalid_range', /^the day starting 2030-01-01T00:00:00.000Z has not begun$/],
      ['/api/v1/reports?period=day&start=yesterday', 400, 'invalid_query', /^start: must be an ISO 8601 date or time/],
      ['/api/v1/reports?period=day&agent=nobody', 404, 'unknown_agent', /^no agent with id "nobody"$/],
      ['/api/v1/reports?period=day&format=xml', 400, 'invalid_query', /^format: must be json or csv$/],
    ])('%s → %d %s', async (url, status, code, message) => {
      const before = await t.db.query<{ n: number }>('SELECT (SELECT count(*) FROM agent_metrics) + (SELECT count(*) FROM agent_metrics_1h) AS n');
      const res = await request(app).get(url).expect(status);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.message).toMatch(message);
      const after = await t.db.query<{ n: number }>('SELECT (SELECT count(*) FROM agent_metrics) + (SELECT count(*) FROM agent_metrics_1h) AS n');
      expect(after.rows[0]!.n).toEqual(before.rows[0]!.n);
    });
  });
});
