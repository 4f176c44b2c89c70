import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import request from 'supertest';
import { Registry } from 'prom-client';
import { openAuditLog, type AuditLog } from '../src/audit/auditLog';
import { verifyAuditDir } from '../src/audit/verifyAudit';
import { createCatalogue } from '../src/commands/catalogue';
import { sideAudit } from '../src/http/auditSink';
import { createApp } from '../src/http/createApp';
import { registerHostMetrics } from '../src/http/hostMetrics';
import { adminRoutes } from '../src/http/routes/admin';
import { generateKey, hashKey, KeyStore, parseKeyFile } from '../src/security/keyStore';
import { liveAgent, openSecurity, silent } from './helpers';

const KEYS = { viewer: generateKey(), operator: generateKey(), admin: generateKey() };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vw-admin-'));
const logRoot = path.join(dir, 'logs');
const marker = path.join(dir, 'service-ran');

let live: Awaited<ReturnType<typeof liveAgent>>;
let audit: AuditLog;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  fs.mkdirSync(logRoot);
  fs.writeFileSync(path.join(logRoot, 'app.log'), Array.from({ length: 50 }, (_, i) => `line ${i + 1}`).join('\n') + '\n');
  live = await liveAgent();
  audit = await openAuditLog({ dir: path.join(dir, 'audit') });
  const side = sideAudit(audit, silent);
  const registry = new Registry();
  registerHostMetrics(registry, live.sampler);
  const catalogue = createCatalogue({
    // A service controlled by argv (no systemd here): restart touches a marker file.
    services: { demo: { argv: { restart: ['/usr/bin/touch', marker], start: ['/usr/bin/touch', marker], stop: ['/bin/true'] } } },
    logRoots: [logRoot],
    systemd: false,
  });
  app = createApp({
    sampler: live.sampler,
    registry,
    logger: silent,
    version: '0.1.0',
    startedAt: new Date(),
    audit: side,
    security: openSecurity({
      insecureNoAuth: false,
      keys: new KeyStore(
        parseKeyFile(JSON.stringify({ keys: Object.entries(KEYS).map(([role, key]) => ({ id: `${role}-key`, role, hash: hashKey(key) })) })),
      ),
    }),
    extraRoutes: [adminRoutes({ catalogue, audit, sideAudit: side, logger: silent, logRoots: [logRoot], runAs: null, maxOutputBytes: 1024 * 1024 })],
  });
});

afterAll(async () => {
  await live.sampler.stop();
  await audit.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

type Who = 'none' | keyof typeof KEYS;
const call = (who: Who, method: 'get' | 'post', url: string, body?: object) => {
  let r = method === 'get' ? request(app).get(url) : request(app).post(url).send(body ?? {});
  if (who !== 'none') r = r.set('Authorization', `Bearer ${KEYS[who]}`);
  return r;
};

// The role × endpoint matrix: each row names the least role that may call it.
const ENDPOINTS: Array<[string, 'get' | 'post', string, object | undefined, Who | 'public']> = [
  ['health', 'get', '/api/v1/health', undefined, 'public'],
  ['openapi', 'get', '/api/v1/openapi.json', undefined, 'public'],
  ['status', 'get', '/api/v1/status', undefined, 'viewer'],
  ['status-simple', 'get', '/api/v1/status-simple', undefined, 'viewer'],
  ['system', 'get', '/api/v1/system', undefined, 'viewer'],
  ['metrics', 'get', '/metrics', undefined, 'viewer'],
  ['commands list', 'get', '/api/v1/commands', undefined, 'viewer'],
  ['service restart', 'post', '/api/v1/services/demo/restart', {}, 'operator'],
  ['log tail', 'get', `/api/v1/logs?file=${encodeURIComponent(path.join(logRoot, 'app.log'))}&lines=5`, undefined, 'operator'],
  ['command', 'post', '/api/v1/command', { command: 'system.uptime' }, 'admin'],
  ['audit', 'get', '/api/v1/audit?limit=5', undefined, 'admin'],
];
const ORDER: Who[] = ['none', 'viewer', 'operator', 'admin'];

describe.each(ENDPOINTS)('%s (%s %s)', (_name, method, url, body, least) => {
  test.each(ORDER)('as %s', async (who) => {
    const expected = least === 'public' ? 200 : who === 'none' ? 401 : ORDER.indexOf(who) >= ORDER.indexOf(least) ? 200 : 403;
    const res = await call(who, method, url, body);
    expect({ who, status: res.status }).toEqual({ who, status: expected });
    if (expected === 403) expect(res.body.error.code).toBe('forbidden');
  });
});

test('a command leaves a durable "started" entry before it runs and a result entry after, with the argv and the key id', async () => {
  const res = await call('admin', 'post', '/api/v1/command', { command: 'disk.usage' }).expect(200);
  expect(res.body).toMatchObject({ command: 'disk.usage', status: 'completed', exit_code: 0, truncated: false });
  expect(res.body.stdout).toMatch(/^Filesystem/);
  const { entries } = await audit.page({ limit: 1000 });
  const mine = entries.filter((e) => e.correlationId === res.body.id);
  expect(mine.map((e) => e.result)).toEqual(['started', 'completed']);
  expect(mine[0]).toMatchObject({ actor: 'admin-key', action: 'command', target: 'disk.usage', argv: ['df', '-P', '-k'] });
  expect(mine[1]!.exitCode).toBe(0);
  expect(JSON.stringify(entries)).not.toContain(KEYS.admin);
});

test('service control runs the configured argv for real', async () => {
  fs.rmSync(marker, { force: true });
  const res = await call('operator', 'post', '/api/v1/services/demo/restart').expect(200);
  expect(res.body).toMatchObject({ command: 'service.restart', status: 'completed', exit_code: 0 });
  expect(fs.existsSync(marker)).toBe(true);
});

test('log tail returns the last lines of an allowed file', async () => {
  const res = await call('operator', 'get', `/api/v1/logs?file=${encodeURIComponent(path.join(logRoot, 'app.log'))}&lines=3`).expect(200);
  expect(res.body.stdout).toBe('line 48\nline 49\nline 50\n');
});

test.each([
  ['unknown command', 'post', '/api/v1/command', { command: 'rm.everything' }, 400, 'unknown_command'],
  ['params for a path outside the roots', 'post', '/api/v1/command', { command: 'logs.tail', params: { file: '/etc/shadow' } }, 400, 'path_not_allowed'],
  ['traversal out of the root', 'get', `/api/v1/logs?file=${encodeURIComponent(logRoot + '/../../../etc/passwd')}`, undefined, 400, 'path_not_allowed'],
  ['a service not on the allow-list', 'post', '/api/v1/services/sshd;reboot/restart', undefined, 400, 'invalid_params'],
  ['an unknown service action', 'post', '/api/v1/services/demo/explode', undefined, 400, 'invalid_action'],
  ['no command field', 'post', '/api/v1/command', { params: {} }, 400, 'invalid_body'],
  ['an extra field', 'post', '/api/v1/command', { command: 'system.uptime', shell: 'rm -rf /' }, 400, 'invalid_body'],
  ['params of the wrong type', 'post', '/api/v1/command', { command: 'system.uptime', params: 'x' }, 400, 'invalid_body'],
  ['lines out of range', 'get', `/api/v1/logs?file=${encodeURIComponent(path.join(logRoot, 'app.log'))}&lines=999999`, undefined, 400, 'invalid_query'],
  ['audit limit out of range', 'get', '/api/v1/audit?limit=5000', undefined, 400, 'invalid_query'],
  ['audit after not a number', 'get', '/api/v1/audit?after=abc', undefined, 400, 'invalid_query'],
])('%s → %d %s, and it is audited as rejected', async (_name, method, url, body, status, code) => {
  const res = await call('admin', method as 'get' | 'post', url, body).expect(status);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
});

test('rejections are in the audit trail', async () => {
  const { entries } = await audit.page({ limit: 1000 });
  expect(entries.some((e) => e.result === 'rejected' && e.detail?.startsWith('path_not_allowed'))).toBe(true);
  expect(entries.some((e) => e.result === 'denied' && e.detail?.startsWith('role viewer lacks'))).toBe(true);
});

test('GET /api/v1/audit pages through the chain, and the chain verifies', async () => {
  const first = await call('admin', 'get', '/api/v1/audit?limit=3').expect(200);
  expect(first.body.entries).toHaveLength(3);
  expect(first.body.entries.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3]);
  const next = await call('admin', 'get', `/api/v1/audit?after=${first.body.next_after}&limit=2`).expect(200);
  expect(next.body.entries[0].seq).toBe(4);
  expect(next.body.entries[0].prevHash).toBe((await audit.page({ afterSeq: 2, limit: 1 })).entries[0]!.hash);
  const verified = await verifyAuditDir(path.join(dir, 'audit'));
  expect(verified.ok).toBe(true);
});

test('fuzzed command bodies only ever get 4xx JSON errors naming the problem, and the agent keeps serving', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.anything(),
        fc.record({ command: fc.oneof(fc.string(), fc.anything()), params: fc.anything() }, { requiredKeys: [] }),
        fc.record({ command: fc.constantFrom('logs.tail', 'service.restart', 'service.status'), params: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.anything())) }),
      ),
      async (body) => {
        const text = JSON.stringify(body) ?? 'null';
        const res = await request(app).post('/api/v1/command').set('Authorization', `Bearer ${KEYS.admin}`).set('Content-Type', 'application/json').send(text);
        // Anything that passed validation must be a real, allowed command that ran.
        if (res.status === 200) {
          expect(['completed', 'failed', 'timed_out']).toContain(res.body.status);
          return;
        }
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(typeof res.body.error.code).toBe('string');
        expect(res.body.error.message.length).toBeGreaterThan(0);
      },
    ),
    { numRuns: 1000 },
  );
  await call('viewer', 'get', '/api/v1/status').expect(200);
}, 120_000);

test('fuzzed raw bytes as a body: 400, never 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
      const res = await request(app).post('/api/v1/command').set('Authorization', `Bearer ${KEYS.admin}`).set('Content-Type', 'application/json').send(Buffer.from(bytes));
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }),
    { numRuns: 500 },
  );
}, 60_000);
