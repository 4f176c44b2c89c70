import pino from 'pino';
import { Registry } from 'prom-client';
import request from 'supertest';
import { createApp } from '../src/http/createApp';
import { upsertAgents } from '../src/store/agents';
import { insertMetrics } from '../src/store/metrics';
import { insertServiceStatus } from '../src/store/services';
import { refreshRollups } from '../src/store/rollups';
import { createPgliteTestDb, type TestDb } from '../../../test/testDb';

let t: TestDb;
let app: ReturnType<typeof createApp>;
const now = new Date('2025-09-03T10:00:00.000Z');

beforeAll(async () => {
  t = await createPgliteTestDb();
  await upsertAgents(t.db, [{ id: 'web-1', baseUrl: 'http://127.0.0.1:8210', token: null }]);
  await insertMetrics(t.db, [
    { agentId: 'web-1', ts: '2025-09-03T09:30:00.000Z', cpuUsage: 10, memoryUsage: 20, diskUsage: 30, load1: 0.5, load5: 0.4, load15: 0.3, uptimeSeconds: 4111, temperature: null },
    { agentId: 'web-1', ts: '2025-09-03T09:30:30.000Z', cpuUsage: 11, memoryUsage: 21, diskUsage: 30, load1: 0.6, load5: 0.4, load15: 0.3, uptimeSeconds: 4141, temperature: 51.5 },
    { agentId: 'web-1', ts: '2025-09-03T08:00:00.000Z', cpuUsage: 99, memoryUsage: 99, diskUsage: 99, load1: 9, load5: 9, load15: 9, uptimeSeconds: 1, temperature: null },
  ]);
  await insertServiceStatus(t.db, [{ agentId: 'web-1', ts: '2025-09-03T09:30:00.000Z', name: 'nginx', status: 'running', pid: 812, cpuPercent: 1.25, memoryBytes: 123456 }]);
  await refreshRollups(t.db);
  app = createApp({ db: t.db, registry: new Registry(), logger: pino({ level: 'silent' }), version: '0.1.0', now: () => now });
});
afterAll(async () => t?.drop());

test('GET /api/v1/agents lists registered agents with their latest metrics', async () => {
  const res = await request(app).get('/api/v1/agents').expect(200);
  expect(res.body.agents).toEqual([
    expect.objectContaining({ id: 'web-1', baseUrl: 'http://127.0.0.1:8210', lastSeenAt: null, lastPoll: null, latest: expect.objectContaining({ ts: '2025-09-03T09:30:30.000Z', cpuUsage: 11 }) }),
  ]);
});

type Point = { ts: string; samples: number; cpu_usage: number | null; temperature: number | null };

test('GET /api/v1/agents/:id/metrics defaults to the last hour in 30 s buckets from raw rows', async () => {
  const res = await request(app).get('/api/v1/agents/web-1/metrics').expect(200);
  expect(res.body).toMatchObject({ from: '2025-09-03T09:00:00.000Z', to: '2025-09-03T10:00:00.000Z', step: '30s', source: 'agent_metrics' });
  // Every bucket is present; the ones without samples are gaps.
  expect(res.body.points).toHaveLength(120);
  const filled = res.body.points.filter((p: Point) => p.samples > 0);
  expect(filled.map((p: Point) => p.ts)).toEqual(['2025-09-03T09:30:00.000Z', '2025-09-03T09:30:30.000Z']);
  expect(filled[1]).toMatchObject({ samples: 1, cpu_usage: 11, cpu_usage_max: 11, cpu_usage_p95: 11, temperature: 51.5 });
  expect(res.body.points[0]).toMatchObject({ ts: '2025-09-03T09:00:00.000Z', samples: 0, cpu_usage: null, memory_usage: null });
});

test('GET /api/v1/agents/:id/metrics with an explicit range and step reads the hourly rollup', async () => {
  const res = await request(app).get('/api/v1/agents/web-1/metrics').query({ from: '2025-09-03T07:00:00Z', to: '2025-09-03T10:00:00Z', step: '1h' }).expect(200);
  expect(res.body).toMatchObject({ step: '1h', source: 'agent_metrics_1h', p95: 'exact' });
  expect(res.body.points.map((p: Point) => [p.ts, p.samples, p.cpu_usage])).toEqual([
    ['2025-09-03T07:00:00.000Z', 0, null],
    ['2025-09-03T08:00:00.000Z', 1, 99],
    ['2025-09-03T09:00:00.000Z', 2, 10.5],
  ]);
});

test('GET /api/v1/agents/:id/services gives the latest state of each service', async () => {
  const res = await request(app).get('/api/v1/agents/web-1/services').expect(200);
  expect(res.body.services).toEqual([{ name: 'nginx', ts: '2025-09-03T09:30:00.000Z', status: 'running', pid: 812, cpu_percent: 1.25, memory_bytes: 123456 }]);
});

test.each([
  ['/api/v1/agents/web-1/metrics?from=yesterday', 400, 'invalid_query', /^from: must be an ISO 8601 time/],
  ['/api/v1/agents/web-1/metrics?to=2025-13-01T00:00:00Z', 400, 'invalid_query', /^to: /],
  ['/api/v1/agents/web-1/metrics?step=0', 400, 'invalid_query', /^step: must be a duration/],
  ['/api/v1/agents/web-1/metrics?step=abc', 400, 'invalid_query', /^step: must be a duration/],
  ['/api/v1/agents/web-1/metrics?limit=10', 400, 'invalid_query', /limit/],
  ['/api/v1/agents/web-1/metrics?bogus=1', 400, 'invalid_query', /bogus/],
  ['/api/v1/agents/web-1/metrics?from=2025-09-03T10:00:00Z&to=2025-09-03T09:00:00Z', 400, 'invalid_range', /from must be before to/],
  ['/api/v1/agents/web-1/metrics?from=2025-01-01T00:00:00Z&to=2025-09-03T09:00:00Z&step=30s', 400, 'too_many_points', /gives 706680 points; at most 10000 are allowed: use step=1h or larger/],
  ['/api/v1/agents/nobody/metrics', 404, 'unknown_agent', /no agent with id "nobody"/],
  ['/api/v1/agents/nobody/services', 404, 'unknown_agent', /nobody/],
  ['/api/v1/agents/nobody', 404, 'unknown_agent', /nobody/],
  ['/api/v1/nothing-here', 404, 'not_found', /no route for GET/],
])('%s → %d %s', async (url, status, code, message) => {
  const res = await request(app).get(url).expect(status);
  expect(res.body.error.code).toBe(code);
  expect(res.body.error.message).toMatch(message);
});

test('GET /api/v1/health names the store', async () => {
  const res = await request(app).get('/api/v1/health').expect(200);
  expect(res.body).toMatchObject({ status: 'healthy', store: 'pglite', version: '0.1.0' });
});
