import http from 'node:http';
import net from 'node:net';
import pino from 'pino';
import { createCollector, type Collector } from '../src/createCollector';
import { createPgTestDb, describePg, type TestDb } from '../../../test/testDb';
import { baseConfig, listen } from './helpers';

const silent = pino({ level: 'silent' });

const goodStatus = () => ({
  agent_id: 'x',
  hostname: 'good-host',
  timestamp: new Date().toISOString(),
  system: {
    cpu_usage_percent: 12.5,
    memory_usage_percent: 40,
    disk_usage_percent: 55,
    load_average: { one_minute: 0.1, five_minutes: 0.2, fifteen_minutes: 0.3 },
    uptime_seconds: 100,
    temperature: null,
  },
  services: [],
  containers: [],
  docker: { available: false, error: 'not installed' },
});

// One misbehaving server per failure kind, each on its own port.
const behaviours: Record<string, http.RequestListener> = {
  http_status: (_req, res) => {
    res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}');
  },
  invalid_json: (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"cpu_usage_percent": 5,');
  },
  invalid_body: (_req, res) => {
    const body = goodStatus() as Record<string, any>;
    body.system.cpu_usage_percent = 250; // not a percentage
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  },
  body_too_large: (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    // Streamed without content-length: the cap must hold while reading.
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = () => {
      while (sent < 8 * 1024 * 1024) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('error', () => undefined);
    pump();
  },
  timeout: () => {
    // Never answers.
  },
  slow_drip: (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const t = setInterval(() => res.write(' '), 100);
    res.on('close', () => clearInterval(t));
  },
};

describePg('bad agent responses', () => {
  let t: TestDb;
  let collector: Collector;
  const servers: Array<{ close(): Promise<void> }> = [];
  let closedPort: number;
  let resetServer: net.Server;

  beforeAll(async () => {
    t = await createPgTestDb();
    const agents = [];
    for (const [kind, handler] of Object.entries(behaviours)) {
      const s = await listen(handler);
      servers.push(s);
      agents.push({ id: kind, baseUrl: s.url, token: null });
    }
    const good = await listen((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(goodStatus())));
    servers.push(good);
    agents.push({ id: 'good', baseUrl: good.url, token: null });
    // A port nobody listens on.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    agents.push({ id: 'connection_refused', baseUrl: `http://127.0.0.1:${closedPort}`, token: null });
    // Accepts, then resets the connection.
    resetServer = net.createServer((sock) => sock.resetAndDestroy());
    await new Promise<void>((r) => resetServer.listen(0, '127.0.0.1', r));
    agents.push({ id: 'reset', baseUrl: `http://127.0.0.1:${(resetServer.address() as net.AddressInfo).port}`, token: null });

    collector = createCollector({
      config: baseConfig({ agents, pollTimeoutMs: 800, maxBodyBytes: 256 * 1024 }),
      db: t.db,
      logger: silent,
    });
    await collector.start({ schedule: false });
  });

  afterAll(async () => {
    await collector?.stop();
    await Promise.all(servers.map((s) => s.close()));
    resetServer?.close();
    await t?.drop();
  });

  test('each failure is recorded with its reason, writes no rows, and does not hold up the good agent', async () => {
    const started = Date.now();
    const result = await collector.runTier('metrics');
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ polled: 9, ok: 1, failed: 8, rows: 1 });
    // Everyone is polled concurrently: the tier costs about one timeout, not eight.
    expect(elapsed).toBeLessThan(800 * 3);

    const polls = (await t.db.query<{ agent_id: string; ok: boolean; error_code: string | null; error_message: string | null }>(
      'SELECT agent_id, ok, error_code, error_message FROM agent_polls ORDER BY agent_id',
    )).rows;
    const byAgent = Object.fromEntries(polls.map((p) => [p.agent_id, p]));
    expect(byAgent.good).toMatchObject({ ok: true, error_code: null });
    for (const kind of ['http_status', 'invalid_json', 'invalid_body', 'body_too_large', 'timeout', 'connection_refused']) {
      expect(byAgent[kind]).toMatchObject({ ok: false, error_code: kind });
    }
    expect(byAgent.slow_drip).toMatchObject({ ok: false, error_code: 'timeout' });
    expect(byAgent.reset).toMatchObject({ ok: false, error_code: 'network' });
    expect(byAgent.invalid_body!.error_message).toMatch(/system\.cpu_usage_percent/);
    expect(byAgent.http_status!.error_message).toBe('HTTP 500 from /api/v1/status');

    const metrics = (await t.db.query<{ agent_id: string }>('SELECT agent_id FROM agent_metrics')).rows;
    expect(metrics.map((m) => m.agent_id)).toEqual(['good']);

    const agents = (await t.db.query<{ id: string; last_poll_ok: boolean; last_poll_error: string | null; last_seen_at: Date | null }>(
      'SELECT id, last_poll_ok, last_poll_error, last_seen_at FROM agents ORDER BY id',
    )).rows;
    for (const a of agents) {
      if (a.id === 'good') expect(a).toMatchObject({ last_poll_ok: true, last_poll_error: null });
      else {
        expect(a.last_poll_ok).toBe(false);
        expect(a.last_poll_error).toMatch(/^[a-z_0-9]+: /);
        expect(a.last_seen_at).toBeNull();
      }
    }
  });

  test('the collector keeps working: the next tick runs and polls again', async () => {
    const result = await collector.runTier('metrics');
    expect(result).toMatchObject({ polled: 9, ok: 1, failed: 8 });
    const text = await collector.registry.metrics();
    expect(text).toMatch(/viworks_collector_polls_total\{tier="metrics",result="timeout"\} 4/);
    expect(text).toMatch(/viworks_collector_polls_total\{tier="metrics",result="connection_refused"\} 2/);
  });
});
