import pino from 'pino';
import { Registry } from 'prom-client';
import request from 'supertest';
import { createApp } from '../src/http/createApp';
import { upsertAgents } from '../src/store/agents';
import { insertMetrics } from '../src/store/metrics';
import { insertServiceStatus } from '../src/store/services';
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
  app = createApp({ db: t.db, registry: new Registry(), logger: pino({ level: 'silent' }), version: '0.1.0', now: () => now });
});
afterAll(async () => t?.drop());

test('GET /api/v1/agents lists registered agents with their latest metrics', async () => {
  const res = await request(app).get('/api/v1/agents').expect(200);
  expect(res.body.agents).toEqual([
    expect.objectContaining({ id: 'web-1', baseUrl: 'http://127.0.0.1:8210', lastSeenAt: null, lastPoll: null, latest: expect.objectContaining({ ts: '2025-09-03T09:30:30.000Z', cpuUsage: 11 }) }),
  ]);
});

test('GET /api/v1/agents/:id/metrics defaults to the last hour', async () => {
  const res = await request(app).get('/api/v1/agents/web-1/metrics').expect(200);
  expect(res.body.from).toBe('2025-09-03T09:00:00.000Z');
  expect(res.body.points.map((p: { ts: string }) => p.ts)).toEqual(['2025-09-03T09:30:00.000Z', '2025-09-03T09:30:30.000Z']);
  expect(res.body.points[1]).toMatchObject({ cpu_usage: 11, uptime_seconds: 4141, temperature: 51.5 });
});

test('GET /api/v1/agents/:id/metrics with an explicit range and limit', async () => {
  const res = await request(app).get('/api/v1/agents/web-1/metrics').query({ from: '2025-09-03T07:00:00Z', to: '2025-09-03T10:00:00Z', limit: 2 }).expect(200);
  expect(res.body.points.map((p: { cpu_usage: number }) => p.cpu_usage)).toEqual([99, 10]);
});

test('GET /api/v1/agents/:id/services gives the latest state of each service', async () => {
  const res = await request(app).get('/api/v1/agents/web-1/services').expect(200);
  expect(res.body.services).toEqual([{ name: 'nginx', ts: '2025-09-03T09:30:00.000Z', status: 'running', pid: 812, cpu_percent: 1.25, memory_bytes: 123456 }]);
});

test.each([
  ['/api/v1/agents/web-1/metrics?from=yesterday', 400, 'invalid_query', /^from: must be an ISO 8601 time/],
  ['/api/v1/agents/web-1/metrics?to=2025-13-01T00:00:00Z', 400, 'invalid_query', /^to: /],
  ['/api/v1/agents/web-1/metrics?limit=0', 400, 'invalid_query', /^limit: /],
  ['/api/v1/agents/web-1/metrics?limit=abc', 400, 'invalid_query', /^limit: /],
  ['/api/v1/agents/web-1/metrics?bogus=1', 400, 'invalid_query', /bogus/],
  ['/api/v1/agents/web-1/metrics?from=2025-09-03T10:00:00Z&to=2025-09-03T09:00:00Z', 400, 'invalid_range', /from must be before to/],
  ['/api/v1/agents/web-1/metrics?from=2025-01-01T00:00:00Z&to=2025-09-03T09:00:00Z', 400, 'invalid_range', /at most 31 days/],
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
