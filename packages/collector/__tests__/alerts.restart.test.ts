import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import pino from 'pino';
import { Registry } from 'prom-client';
import request from 'supertest';
import { openAuditLog, type AuditLog } from '../../agent/src/audit/auditLog';
import { createCatalogue } from '../../agent/src/commands/catalogue';
import { sideAudit } from '../../agent/src/http/auditSink';
import { createApp as createAgentApp } from '../../agent/src/http/createApp';
import { adminRoutes } from '../../agent/src/http/routes/admin';
import { createSampler, type Sampler } from '../../agent/src/sampling/sampler';
import { generateKey, hashKey, KeyStore, parseKeyFile } from '../../agent/src/security/keyStore';
import { openSecurity } from '../../agent/__tests__/helpers';
import { DEFAULT_RULES, parseAlertRules } from '../src/alerts/rules';
import { createCollector, type Collector } from '../src/createCollector';
import { createApp } from '../src/http/createApp';
import { parseNotifyConfig } from '../src/notify/receivers';
import { createPgTestDb, describePg, type TestDb } from '../../../test/testDb';
import { recordingReceiver } from './alerts.helpers';
import { baseConfig, listen } from './helpers';

const silent = pino({ level: 'silent' });
const allOff = Object.fromEntries(Object.keys(DEFAULT_RULES).map((n) => [n, { enabled: false }]));

/** PIDs of live (non-zombie) processes whose comm is `comm`, read from /proc. */
function pidsOf(comm: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const c = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (c === comm && state !== 'Z') out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

// A real agent app in-process (real sampler reading /proc, real service control
// running real argv, real audit log, API-key auth) serving a real collector
// on PostgreSQL. Its two services are real processes: copies of sleep with
// names of their own, so the agent finds them by comm like any daemon.
describePg('automated restart through the agent', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vw-restart-'));
  const tag = randomBytes(3).toString('hex');
  const okBin = path.join(dir, `vwok${tag}`);
  const badBin = path.join(dir, `vwbad${tag}`);
  const operatorKey = generateKey();
  let t: TestDb;
  let sampler: Sampler;
  let audit: AuditLog;
  let agent: Awaited<ReturnType<typeof listen>>;
  let rx: Awaited<ReturnType<typeof recordingReceiver>>;
  let collector: Collector;
  let app: ReturnType<typeof createApp>;
  const children: ChildProcess[] = [];

  const startService = async (bin: string) => {
    const child = spawn(bin, ['600'], { stdio: 'ignore' });
    children.push(child);
    await once(child, 'spawn');
    return child;
  };

  const status = async () => {
    const s = (await sampler.sampleNow()).status.services;
    return Object.fromEntries(s.map((x) => [x.name, x.status]));
  };

  beforeAll(async () => {
    for (const bin of [okBin, badBin]) {
      fs.copyFileSync('/bin/sleep', bin);
      fs.chmodSync(bin, 0o755);
    }
    t = await createPgTestDb();
    rx = await recordingReceiver();

    sampler = createSampler({
      config: {
        agentId: 'restart-host',
        sampleIntervalMs: 200,
        inventoryIntervalMs: 600_000,
        diskMount: '/',
        services: [
          { name: 'svc-ok', processNames: [path.basename(okBin)], units: [] },
          { name: 'svc-bad', processNames: [path.basename(badBin)], units: [] },
        ],
      },
      docker: new Docker({ socketPath: '/nonexistent/docker.sock' }),
      logger: silent,
      systemd: false,
    });
    audit = await openAuditLog({ dir: path.join(dir, 'audit') });
    const side = sideAudit(audit, silent);
    const catalogue = createCatalogue({
      services: {
        // Starts the daemon again in the background, as an init script would.
        'svc-ok': { argv: { restart: ['/bin/sh', '-c', `${okBin} 600 </dev/null >/dev/null 2>&1 &`] } },
        // "Restarts" without starting anything: the service will not come back.
        'svc-bad': { argv: { restart: ['/bin/true'] } },
      },
      logRoots: [dir],
      systemd: false,
    });
    const keys = new KeyStore(parseKeyFile(JSON.stringify({ keys: [{ id: 'collector-key', role: 'operator', hash: hashKey(operatorKey) }] })));
    await startService(okBin);
    await startService(badBin);
    await sampler.start();
    agent = await listen(
      createAgentApp({
        sampler,
        registry: new Registry(),
        logger: silent,
        version: 'test',
        startedAt: new Date(),
        audit: side,
        security: openSecurity({ insecureNoAuth: false, keys }),
        extraRoutes: [adminRoutes({ catalogue, audit, sideAudit: side, logger: silent, logRoots: [dir], runAs: null, maxOutputBytes: 1 << 20 })],
      }),
    );

    const rules = parseAlertRules({
      rules: {
        ...allOff,
        monitored: {
          type: 'service',
          services: ['svc-ok', 'svc-bad'],
          severity: 'warning',
          alert_on: ['stopped', 'error'],
          for: '0s',
          auto_restart: { max_per_hour: 2, backoff: '0s', verify_timeout: '1500ms', verify_interval: '100ms', request_timeout: '10s' },
        },
      },
    });
    const notify = parseNotifyConfig({ group_wait: '0s', group_by: ['rule', 'subject'], receivers: [{ name: 'hook', type: 'webhook', url: `${rx.url}/hook` }] });
    collector = createCollector({
      config: baseConfig({ agents: [{ id: 'restart-host', baseUrl: agent.url, token: operatorKey }], alerting: { rules, notify } }),
      db: t.db,
      logger: silent,
    });
    await collector.start({ schedule: false });
    app = createApp({ db: t.db, registry: new Registry(), logger: silent, version: 'test' });
  });

  afterAll(async () => {
    await collector?.stop();
    await agent?.close();
    await sampler?.stop();
    await audit?.close();
    await rx?.close();
    for (const c of children) c.kill('SIGKILL');
    for (const bin of [okBin, badBin]) for (const pid of pidsOf(path.basename(bin))) process.kill(pid, 'SIGKILL');
    await t?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('both services running: no alerts', async () => {
    expect(await status()).toEqual({ 'svc-ok': 'running', 'svc-bad': 'running' });
    await collector.runTier('services');
    await collector.alerts.evaluate();
    expect((await request(app).get('/api/v1/alerts')).body.alerts).toEqual([]);
  });

  test('killed: one is restarted and comes back; the other is tried within budget, then escalates to critical', async () => {
    for (const c of children) {
      c.kill('SIGKILL');
      await once(c, 'exit'); // reaped by us: no zombie left for the agent to see
    }
    expect(await status()).toEqual({ 'svc-ok': 'stopped', 'svc-bad': 'stopped' });
    await collector.runTier('services');
    expect(await collector.alerts.evaluate()).toMatchObject({ restarts: 2 });
    await collector.alerts.idle();

    // svc-ok: a new process (started by the agent, not by us) is running.
    const newPids = pidsOf(path.basename(okBin));
    expect(newPids).toHaveLength(1);
    expect(children.map((c) => c.pid)).not.toContain(newPids[0]);

    const incidents = (await request(app).get('/api/v1/incidents?agent=restart-host')).body.incidents;
    const ok = (await request(app).get(`/api/v1/incidents/${incidents.find((i: { subject: string }) => i.subject === 'svc-ok').id}`)).body;
    const bad = (await request(app).get(`/api/v1/incidents/${incidents.find((i: { subject: string }) => i.subject === 'svc-bad').id}`)).body;

    expect(ok).toMatchObject({ state: 'resolved', severity: 'warning', escalated: false });
    expect(ok.actions).toEqual([expect.objectContaining({ action: 'restart', status: 'succeeded', agent_command_id: expect.any(String) })]);
    expect(ok.actions[0].detail).toMatch(/^running again \(pid \d+\)$/);

    // svc-bad: attempts up to the budget (2 per hour), then no more, and critical.
    expect(bad).toMatchObject({ state: 'open', severity: 'critical', peak_severity: 'critical', escalated: true });
    expect(bad.actions.map((a: { status: string }) => a.status)).toEqual(['failed', 'failed', 'skipped']);
    expect(bad.actions[0].detail).toMatch(/^not running 1.5 s after the restart \(stopped\)$/);
    expect(bad.actions[2].detail).toBe('budget exhausted: 2 restarts in the last hour (max 2)');
    expect(bad.events.map((e: { kind: string }) => e.kind)).toEqual(expect.arrayContaining(['opened', 'action', 'severity_changed']));
    const alerts = (await request(app).get('/api/v1/alerts')).body.alerts;
    expect(alerts).toEqual([expect.objectContaining({ key: 'monitored/restart-host/svc-bad', state: 'firing', severity: 'critical', escalated: true })]);

    // Notifications: both fired; svc-ok resolved; svc-bad escalated to critical.
    const sent = rx.at('/hook').flatMap((r) => r.body.alerts.map((a: { subject: string; status: string; severity: string; escalated: boolean }) => `${a.subject}:${a.status}:${a.severity}${a.escalated ? ':escalated' : ''}`));
    expect(sent.sort()).toEqual(['svc-bad:firing:critical:escalated', 'svc-bad:firing:warning', 'svc-ok:firing:warning', 'svc-ok:resolved:warning']);

    // The agent audited each restart under the collector's key, with the same correlation ids.
    const entries = (await audit.page({ limit: 100 })).entries.filter((e) => e.action === 'service.restart');
    const ids = [...ok.actions, ...bad.actions].map((a: { agent_command_id: string | null }) => a.agent_command_id).filter(Boolean);
    expect(ids).toHaveLength(3);
    for (const id of ids) {
      expect(entries.filter((e) => e.correlationId === id).map((e) => [e.actor, e.result])).toEqual([
        ['collector-key', 'started'],
        ['collector-key', 'completed'],
      ]);
    }
  });

  test('an evaluation with the budget spent does not restart again', async () => {
    await collector.runTier('services');
    expect(await collector.alerts.evaluate()).toMatchObject({ restarts: 0 });
    await collector.alerts.idle();
    const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM incident_actions WHERE service = 'svc-bad'`);
    expect(rows[0]!.n).toBe(3);
  });
});
