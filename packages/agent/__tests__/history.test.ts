import request from 'supertest';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { SampleHistory } from '../src/sampling/history';
import type { SystemMetrics } from '@viworks/protocol';
import { liveAgent } from './helpers';

const system: SystemMetrics = {
  cpu_usage_percent: 1,
  memory_usage_percent: 2,
  disk_usage_percent: 3,
  load_average: { one_minute: 0, five_minutes: 0, fifteen_minutes: 0 },
  uptime_seconds: 10,
  temperature: null,
};
const at = (s: number) => new Date(Date.UTC(2025, 8, 3, 9, 0, s)).toISOString();

describe('SampleHistory', () => {
  test('keeps the newest `capacity` samples in time order', () => {
    const h = new SampleHistory(3);
    for (let s = 0; s < 5; s++) h.push({ timestamp: at(s), system });
    expect(h.size).toBe(3);
    expect(h.oldest()!.timestamp).toBe(at(2));
    expect(h.after(new Date(0), 10).samples.map((x) => x.timestamp)).toEqual([at(2), at(3), at(4)]);
  });
  test('a repeated or older timestamp is ignored', () => {
    const h = new SampleHistory(5);
    h.push({ timestamp: at(5), system });
    h.push({ timestamp: at(5), system });
    h.push({ timestamp: at(4), system });
    expect(h.size).toBe(1);
  });
  test.each([
    [at(-1), 10, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], false],
    [at(3), 10, [4, 5, 6, 7, 8, 9], false],
    [at(3), 2, [4, 5], true],
    [at(9), 10, [], false],
    ['2025-09-03T09:00:03.500Z', 1, [4], true],
  ])('after(%s, %d)', (since, limit, seconds, more) => {
    const h = new SampleHistory(100);
    for (let s = 0; s < 10; s++) h.push({ timestamp: at(s), system });
    const page = h.after(new Date(since), limit);
    expect(page.samples.map((x) => x.timestamp)).toEqual(seconds.map(at));
    expect(page.more).toBe(more);
  });
  test('capacity must be positive', () => {
    expect(() => new SampleHistory(0)).toThrow(RangeError);
  });
});

describe('GET /api/v1/metrics/history', () => {
  let live: Awaited<ReturnType<typeof liveAgent>>;
  beforeAll(async () => {
    live = await liveAgent();
    await live.sampler.sampleNow();
    await live.sampler.sampleNow();
  });
  afterAll(() => live.sampler.stop());

  test('pages through the samples the agent took, validating against the OpenAPI document', async () => {
    const all = live.sampler.history.after(new Date(0), 100).samples;
    expect(all.length).toBeGreaterThanOrEqual(3);
    const first = await request(live.app).get('/api/v1/metrics/history').query({ since: '2000-01-01T00:00:00Z', limit: 2 }).expect(200);
    expect(first.body.samples.map((s: { timestamp: string }) => s.timestamp)).toEqual(all.slice(0, 2).map((s) => s.timestamp));
    expect(first.body.next_since).toBe(all[1]!.timestamp);
    expect(first.body.complete).toBe(false); // the agent did not exist in 2000
    const rest = await request(live.app).get('/api/v1/metrics/history').query({ since: first.body.next_since }).expect(200);
    expect(rest.body.samples.map((s: { timestamp: string }) => s.timestamp)).toEqual(all.slice(2).map((s) => s.timestamp));
    expect(rest.body.next_since).toBeNull();
    expect(rest.body.complete).toBe(true);
    expect(rest.body.samples.at(-1).system).toEqual(live.sampler.latest()!.status.system);

    const doc = (await request(live.app).get('/api/v1/openapi.json')).body;
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    const schema = doc.paths['/api/v1/metrics/history'].get.responses['200'].content['application/json'].schema;
    expect(ajv.validate({ ...schema, components: doc.components }, rest.body)).toBe(true);
  });

  test.each([
    [{}, /^since: /],
    [{ since: 'yesterday' }, /^since: must be an ISO 8601 time/],
    [{ since: '2025-09-03T09:00:00Z', limit: '5000' }, /^limit: /],
    [{ since: '2025-09-03T09:00:00Z', limit: '0' }, /^limit: /],
    [{ since: '2025-09-03T09:00:00Z', limit: '1.5' }, /^limit: must be a whole number/],
    [{ since: '2999-01-01T00:00:00Z' }, /since: is in the future/],
    [{ since: '2025-09-03T09:00:00Z', page: '2' }, /page/],
  ])('%j → 400 naming the problem', async (query, message) => {
    const res = await request(live.app).get('/api/v1/metrics/history').query(query).expect(400);
    expect(res.body.error.code).toBe('invalid_query');
    expect(res.body.error.message).toMatch(message);
  });
});

describe('sampleNow', () => {
  test('a call made while a sample runs gets a sample that started after the call', async () => {
    const live = await liveAgent();
    try {
      const first = live.sampler.sampleNow();
      const callAt = Date.now();
      const second = live.sampler.sampleNow();
      const [a, b] = await Promise.all([first, second]);
      expect(b).not.toBe(a);
      expect(Date.parse(b.status.timestamp)).toBeGreaterThanOrEqual(callAt);
    } finally {
      await live.sampler.stop();
    }
  });
});
