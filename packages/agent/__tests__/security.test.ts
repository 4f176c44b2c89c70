import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { Registry } from 'prom-client';
import type { AuditRecord, AuditSink } from '../src/http/auditSink';
import { createApp } from '../src/http/createApp';
import { requireRole } from '../src/http/middleware/authenticate';
import { registerHostMetrics } from '../src/http/hostMetrics';
import { parseIpRanges } from '../src/security/ipRanges';
import { generateKey, hashKey, KeyStore, parseKeyFile, watchKeyFile } from '../src/security/keyStore';
import type { JwtConfig } from '../src/security/jwt';
import { liveAgent, openSecurity, silent } from './helpers';

const VIEWER = generateKey();
const OPERATOR = generateKey();
const keyFile = (entries: Array<[string, string, string]>) =>
  JSON.stringify({ keys: entries.map(([id, role, key]) => ({ id, role, hash: hashKey(key) })) });

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256!';
const jwtCfg: JwtConfig = { key: SECRET, algorithms: ['HS256'], issuer: 'viworks-backend', audience: 'viworks-agent' };
const token = (claims: object, opts: jwt.SignOptions = {}, key: jwt.Secret = SECRET) =>
  jwt.sign(claims, key, { algorithm: 'HS256', issuer: 'viworks-backend', audience: 'viworks-agent', expiresIn: '5m', subject: 'backend-1', ...opts });

let live: Awaited<ReturnType<typeof liveAgent>>;
const audited: AuditRecord[] = [];
const audit: AuditSink = { append: async (e) => void audited.push(e) };

function app(over: Parameters<typeof openSecurity>[0] = {}, extraRoutes: Parameters<typeof createApp>[0]['extraRoutes'] = []) {
  const registry = new Registry();
  registerHostMetrics(registry, live.sampler);
  return createApp({
    sampler: live.sampler,
    registry,
    logger: silent,
    version: '0.1.0',
    startedAt: new Date(),
    audit,
    extraRoutes,
    security: openSecurity({
      insecureNoAuth: false,
      keys: new KeyStore(parseKeyFile(keyFile([['collector-1', 'viewer', VIEWER], ['ops', 'operator', OPERATOR]]))),
      jwt: jwtCfg,
      ...over,
    }),
  });
}

beforeAll(async () => {
  live = await liveAgent();
});
afterAll(async () => live.sampler.stop());

describe('API keys', () => {
  const a = () => app();
  test('/api/v1/health and the OpenAPI document are public', async () => {
    await request(a()).get('/api/v1/health').expect(200);
    await request(a()).get('/api/v1/openapi.json').expect(200);
  });

  test.each(['/api/v1/status', '/api/v1/status-simple', '/api/v1/system', '/metrics'])('%s needs a credential: 401 without, 200 with a viewer key', async (p) => {
    const res = await request(a()).get(p).expect(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="viworks-agent"');
    expect(res.body).toEqual({ error: { code: 'unauthorized', message: 'a valid API key or bearer token is required' } });
    await request(a()).get(p).set('Authorization', `Bearer ${VIEWER}`).expect(200);
    await request(a()).get(p).set('X-API-Key', VIEWER).expect(200);
  });

  test('unknown, wrong, wrong-length and malformed keys all get the same 401', async () => {
    const bodies = new Set<string>();
    const bad = [
      generateKey(), // unknown, right shape
      VIEWER.slice(0, -1) + (VIEWER.endsWith('A') ? 'B' : 'A'), // one character off
      'x', // very short
      'k'.repeat(10_000), // very long
      Buffer.from('ключ-🔑-\u202e', 'utf8').toString('latin1'), // UTF-8 bytes (RTL override included) as sent on the wire
      `${VIEWER} ${VIEWER}`,
    ];
    for (const key of bad) {
      const res = await request(a()).get('/api/v1/status').set('Authorization', `Bearer ${key}`).expect(401);
      bodies.add(JSON.stringify(res.body) + res.headers['www-authenticate']);
    }
    const basic = await request(a()).get('/api/v1/status').set('Authorization', 'Basic dXNlcjpwYXNz').expect(401);
    bodies.add(JSON.stringify(basic.body) + basic.headers['www-authenticate']);
    expect(bodies.size).toBe(1);
    // Each refusal is audited under "anonymous", and no entry holds the key.
    const denials = audited.filter((e) => e.detail === 'invalid_credential');
    expect(denials.length).toBeGreaterThanOrEqual(bad.length);
    expect(JSON.stringify(audited)).not.toContain(VIEWER.slice(4, 20));
  });

  test('KeyStore compares every entry, whatever the input length', () => {
    const store = new KeyStore(parseKeyFile(keyFile([['a', 'viewer', VIEWER], ['b', 'admin', OPERATOR]])));
    expect(store.authenticate(OPERATOR)?.id).toBe('b');
    expect(store.authenticate('')).toBeNull();
    expect(store.authenticate('\u0000'.repeat(100))).toBeNull();
  });

  test.each([
    ['{', /not valid JSON/],
    ['{"keys":[{"id":"a","role":"root","hash":"sha256:' + '0'.repeat(64) + '"}]}', /keys\.0\.role/],
    ['{"keys":[{"id":"a","role":"viewer","hash":"md5:abc"}]}', /keys\.0\.hash/],
    ['{"keys":[{"id":"a","role":"viewer","hash":"sha256:' + '0'.repeat(64) + '","key":"plaintext"}]}', /keys\.0/],
    ['{"keys":[{"id":"a","role":"viewer","hash":"sha256:' + '0'.repeat(64) + '"},{"id":"a","role":"admin","hash":"sha256:' + '1'.repeat(64) + '"}]}', /used twice/],
  ])('a bad key file is refused with the entry and field: %s', (text, message) => {
    expect(() => parseKeyFile(text)).toThrow(message);
  });
});

describe('key file rotation without restart', () => {
  test('a rewritten key file takes effect; a broken one keeps the previous keys', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vw-keys-'));
    const file = path.join(dir, 'keys.json');
    const A = generateKey();
    const B = generateKey();
    fs.writeFileSync(file, keyFile([['a', 'viewer', A]]));
    const store = new KeyStore(parseKeyFile(fs.readFileSync(file, 'utf8')));
    const reloaded: string[] = [];
    const watch = watchKeyFile(file, store, { info: (o) => reloaded.push(JSON.stringify(o)), error: () => reloaded.push('error') }, 20);
    const a = app({ keys: store });
    try {
      await request(a).get('/api/v1/status').set('X-API-Key', A).expect(200);
      // Replace it the way an operator's tool would: write elsewhere, rename over.
      fs.writeFileSync(`${file}.new`, keyFile([['b', 'viewer', B]]));
      fs.renameSync(`${file}.new`, file);
      const deadline = Date.now() + 5000;
      while (store.authenticate(B) === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await request(a).get('/api/v1/status').set('X-API-Key', B).expect(200);
      await request(a).get('/api/v1/status').set('X-API-Key', A).expect(401);
      // A broken file is ignored: B keeps working.
      fs.writeFileSync(file, '{"keys": [ oops');
      while (reloaded.at(-1) !== 'error' && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 20));
      expect(reloaded.at(-1)).toBe('error');
      await request(a).get('/api/v1/status').set('X-API-Key', B).expect(200);
      // SIGHUP path: an explicit reload.
      fs.writeFileSync(file, keyFile([['a', 'viewer', A]]));
      expect(watch.reload()).toBe(true);
      await request(a).get('/api/v1/status').set('X-API-Key', A).expect(200);
    } finally {
      watch.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('JWT bearer tokens', () => {
  const a = () => app();
  test('a valid token with a role claim is accepted', async () => {
    await request(a()).get('/api/v1/status').set('Authorization', `Bearer ${token({ role: 'viewer' })}`).expect(200);
  });
  test.each([
    ['expired', () => token({ role: 'viewer' }, { expiresIn: -120 })],
    ['wrong audience', () => token({ role: 'viewer' }, { audience: 'someone-else' })],
    ['wrong issuer', () => token({ role: 'viewer' }, { issuer: 'evil' })],
    ['no expiry', () => jwt.sign({ role: 'viewer', iss: 'viworks-backend', aud: 'viworks-agent' }, SECRET, { algorithm: 'HS256' })],
    ['no role', () => token({})],
    ['unknown role', () => token({ role: 'root' })],
    ['wrong secret', () => token({ role: 'admin' }, {}, 'another-secret-that-is-also-long-enough!!')],
    ['alg none', () => jwt.sign({ role: 'admin', iss: 'viworks-backend', aud: 'viworks-agent', exp: Math.floor(Date.now() / 1000) + 60 }, '', { algorithm: 'none' })],
    ['HS512 (not pinned)', () => token({ role: 'viewer' }, { algorithm: 'HS512' })],
    ['garbage', () => 'aaa.bbb.ccc'],
  ])('%s → 401', async (_name, make) => {
    await request(a()).get('/api/v1/status').set('Authorization', `Bearer ${make()}`).expect(401);
  });

  test('RS256 with a public key; an HS256 token signed with the public key (algorithm confusion) is refused', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const rs = app({ jwt: { key: pem, algorithms: ['RS256', 'ES256'], issuer: 'viworks-backend', audience: 'viworks-agent' } });
    const good = jwt.sign({ role: 'viewer' }, privateKey, { algorithm: 'RS256', issuer: 'viworks-backend', audience: 'viworks-agent', expiresIn: '5m' });
    await request(rs).get('/api/v1/status').set('Authorization', `Bearer ${good}`).expect(200);
    const forged = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')}.${Buffer.from(
      JSON.stringify({ role: 'admin', iss: 'viworks-backend', aud: 'viworks-agent', exp: Math.floor(Date.now() / 1000) + 60 }),
    ).toString('base64url')}`;
    const sig = require('node:crypto').createHmac('sha256', pem).update(forged).digest('base64url');
    await request(rs).get('/api/v1/status').set('Authorization', `Bearer ${forged}.${sig}`).expect(401);
  });
});

describe('IP allow-list (before authentication)', () => {
  // Loopback is a trusted proxy here, so X-Forwarded-For sets the client address.
  const behindProxy = (allowed: string) =>
    app({ allowedIps: parseIpRanges(allowed), trustedProxies: parseIpRanges('127.0.0.1, ::1') });

  test.each([
    ['10.0.0.0/8', '10.1.2.3', 200],
    ['10.0.0.0/8', '203.0.113.5', 403],
    ['10.0.0.0/8', '::ffff:10.1.2.3', 200], // IPv4-mapped IPv6
    ['::ffff:10.0.0.0/104', '10.9.9.9', 200], // mapped range, plain client
    ['2001:db8::/32', '2001:db8::1', 200],
    ['2001:db8::/32', '2001:db9::1', 403],
    ['203.0.113.7', '203.0.113.7', 200], // bare address
    ['203.0.113.7', '203.0.113.8', 403],
  ])('allow %s, client %s → %d', async (allowed, client, status) => {
    const res = await request(behindProxy(allowed)).get('/api/v1/status').set('X-Forwarded-For', client).set('X-API-Key', VIEWER).expect(status);
    if (status === 403) expect(res.body.error.code).toBe('ip_not_allowed');
  });

  test('checked before authentication: a blocked address gets 403 whether its key is right, wrong or absent', async () => {
    const a = behindProxy('10.0.0.0/8');
    for (const key of [VIEWER, 'wrong', null]) {
      const r = request(a).get('/api/v1/status').set('X-Forwarded-For', '198.51.100.1');
      const res = await (key ? r.set('X-API-Key', key) : r).expect(403);
      expect(res.body.error.code).toBe('ip_not_allowed');
    }
  });

  test('X-Forwarded-For from an untrusted peer is ignored', async () => {
    const a = app({ allowedIps: parseIpRanges('10.0.0.0/8'), trustedProxies: [] });
    await request(a).get('/api/v1/status').set('X-Forwarded-For', '10.1.2.3').set('X-API-Key', VIEWER).expect(403);
    const direct = app({ allowedIps: parseIpRanges('127.0.0.0/8'), trustedProxies: [] });
    await request(direct).get('/api/v1/status').set('X-Forwarded-For', '203.0.113.5').set('X-API-Key', VIEWER).expect(200);
  });

  test('bad ranges are refused with the value', () => {
    expect(() => parseIpRanges('10.0.0.0/33')).toThrow(/"10.0.0.0\/33" is not an IP address or CIDR range/);
    expect(() => parseIpRanges('example.com')).toThrow(/example.com/);
  });
});

describe('rate limit', () => {
  test('the 101st request in a minute gets 429 with Retry-After and RateLimit headers; /health is not counted', async () => {
    const a = app({ rateLimitPerMinute: 100 });
    for (let i = 0; i < 20; i++) await request(a).get('/api/v1/health').expect(200);
    for (let i = 0; i < 100; i++) await request(a).get('/api/v1/status-simple').set('X-API-Key', VIEWER).expect(200);
    const res = await request(a).get('/api/v1/status-simple').set('X-API-Key', VIEWER).expect(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(res.headers['ratelimit-policy']).toMatch(/q=100; w=60/);
    expect(res.headers['ratelimit']).toMatch(/r=0/);
    expect(res.body.error.code).toBe('rate_limited');
    // Also before authentication: a key does not buy more requests.
    await request(a).get('/api/v1/status').expect(429);
    expect(audited.filter((e) => e.detail === 'rate_limited')).toHaveLength(1);
  });
});

describe('request bodies', () => {
  const echo = (router: import('express').Router) => router.post('/echo', requireRole('viewer', audit), (req, res) => void res.json({ got: req.body }));

  test('malformed JSON → 400, oversized → 413, both as JSON errors', async () => {
    const a = app({ bodyLimitBytes: 1024 }, [echo]);
    const ok = await request(a).post('/echo').set('X-API-Key', VIEWER).send({ a: 1 }).expect(200);
    expect(ok.body).toEqual({ got: { a: 1 } });
    const bad = await request(a).post('/echo').set('X-API-Key', VIEWER).set('Content-Type', 'application/json').send('{"a":').expect(400);
    expect(bad.body.error.code).toBe('entity_parse_failed');
    const big = await request(a).post('/echo').set('X-API-Key', VIEWER).set('Content-Type', 'application/json').send(JSON.stringify({ x: 'y'.repeat(4096) })).expect(413);
    expect(big.body.error.code).toBe('entity_too_large');
  });

  test('bodies are read only after authentication: a bad body without a key gets 401, not a parse error', async () => {
    const a = app({ bodyLimitBytes: 1024 }, [echo]);
    const res = await request(a).post('/echo').set('Content-Type', 'application/json').send('{"a":').expect(401);
    expect(res.body.error.code).toBe('unauthorized');
  });
});

describe('read-only endpoints', () => {
  test('HEAD answers like GET without a body; other methods get a JSON 404', async () => {
    const a = app();
    const head = await request(a).head('/api/v1/status').set('X-API-Key', VIEWER).expect(200);
    expect(head.headers['content-type']).toMatch(/application\/json/);
    expect(head.text ?? '').toBe('');
    const post = await request(a).post('/api/v1/status').set('X-API-Key', VIEWER).send({}).expect(404);
    expect(post.body.error).toEqual({ code: 'not_found', message: 'no route for POST /api/v1/status' });
  });

  test('matched like Express routes: any case, one trailing slash', async () => {
    const a = app();
    for (const p of ['/api/v1/status/', '/API/v1/Status', '/api/v1/health/']) await request(a).get(p).set('X-API-Key', VIEWER).expect(200);
    await request(a).get('/api/v1/status//').set('X-API-Key', VIEWER).expect(404);
  });

  test('the role check still applies to each one, with a query string too', async () => {
    const a = app();
    await request(a).get('/api/v1/status?x=1').expect(401);
    await request(a).get('/api/v1/status?x=1').set('X-API-Key', VIEWER).expect(200);
  });
});
