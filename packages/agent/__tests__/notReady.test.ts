import request from 'supertest';
import { Registry } from 'prom-client';
import { createApp } from '../src/http/createApp';
import { SampleHistory } from '../src/sampling/history';
import type { Sampler } from '../src/sampling/sampler';
import { NO_AUDIT } from '../src/http/auditSink';
import { openSecurity, silent } from './helpers';

// Before the first sample there is nothing to serve: 503 with a reason, and
// /health says "starting" (so a load balancer can wait for it).
const emptySampler: Sampler = {
  start: async () => undefined,
  stop: async () => undefined,
  latest: () => null,
  sampleNow: () => Promise.reject(new Error('not used')),
  onSample: () => undefined,
  history: new SampleHistory(10),
};

const app = createApp({ sampler: emptySampler, registry: new Registry(), logger: silent, version: '0.1.0', startedAt: new Date(), security: openSecurity(), audit: NO_AUDIT });

test.each(['/api/v1/status', '/api/v1/status-simple', '/api/v1/system'])('%s answers 503 not_ready', async (p) => {
  const res = await request(app).get(p).expect(503);
  expect(res.body.error.code).toBe('not_ready');
});

test('/api/v1/health says starting', async () => {
  const res = await request(app).get('/api/v1/health').expect(200);
  expect(res.body.status).toBe('starting');
});
