import pino from 'pino';
import { Registry } from 'prom-client';
import request from 'supertest';
import { DEFAULT_RULES, parseAlertRules } from '../src/alerts/rules';
import { createCollector, type Collector } from '../src/createCollector';
import { createApp } from '../src/http/createApp';
import { parseNotifyConfig } from '../src/notify/receivers';
import { BACKENDS, createPgTestDb, describePg, type TestDb } from '../../../test/testDb';
import { fakeAgents, recordingReceiver } from './alerts.helpers';
import { baseConfig } from './helpers';

const silent = pino({ level: 'silent' });
const allOff = Object.fromEntries(Object.keys(DEFAULT_RULES).map((n) => [n, { enabled: false }]));

/** The test's clock for agent samples and evaluations: it only moves when told. */
function testClock() {
  let t = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
  return { now: () => new Date(t), advance: (s: number) => void (t += s * 1000), at: (offsetS = 0) => new Date(t + offsetS * 1000) };
}

describePg('alerting end to end on PostgreSQL', () => {
  describe('breach → incident → notifications → acknowledgement → recovery', () => {
    let t: TestDb;
    let collector: Collector;
    let agents: Awaited<ReturnType<typeof fakeAgents>>;
    let rx: Awaited<ReturnType<typeof recordingReceiver>>;
    let app: ReturnType<typeof createApp>;
    const clock = testClock();

    const tick = async () => {
      clock.advance(30);
      await collector.runTier('metrics');
      return collector.alerts.evaluate({ now: clock.now() });
    };

    beforeAll(async () => {
      t = await createPgTestDb();
      agents = await fakeAgents(['web1'], clock.now);
      rx = await recordingReceiver();
      const rules = parseAlertRules({
        rules: { ...allOff, cpu_usage: { enabled: true, warning: 80, critical: 95, recovery_margin: 5, for: '60s' } },
      });
      const notify = parseNotifyConfig({
        group_wait: '0s',
        retry: { initial: '50ms', max: '1s', max_attempts: 5 },
        external_url: 'http://collector.example:8220',
        receivers: [
          { name: 'hook', type: 'webhook', url: `${rx.url}/hook`, headers: { authorization: 'Bearer hook-secret' } },
          { name: 'chat', type: 'slack', url: `${rx.url}/slack` },
          { name: 'am', type: 'alertmanager', url: `${rx.url}/am` },
          { name: 'flaky', type: 'webhook', url: `${rx.url}/flaky` },
          { name: 'pager', type: 'webhook', url: `${rx.url}/pager`, severities: ['critical'] },
        ],
      });
      collector = createCollector({ config: baseConfig({ agents: agents.targets, alerting: { rules, notify } }), db: t.db, logger: silent });
      await collector.start({ schedule: false });
      app = createApp({ db: t.db, registry: new Registry(), logger: silent, version: 'test', now: clock.now });
    });
    afterAll(async () => {
      await collector?.stop();
      await agents?.close();
      await rx?.close();
      await t?.drop();
    });

    test('below the threshold: nothing', async () => {
      agents.set('web1', { cpu: 50 });
      expect(await tick()).toMatchObject({ notifications: 0, events: 0 });
      expect((await request(app).get('/api/v1/alerts')).body).toEqual({ alerts: [] });
    });

    test('breach: pending for `for`, then firing, incident opened, every receiver told once', async () => {
      agents.set('web1', { cpu: 90 });
      await tick();
      const pending = await request(app).get('/api/v1/alerts?state=pending');
      expect(pending.body.alerts).toEqual([expect.objectContaining({ key: 'cpu_usage/web1', state: 'pending', value: 90 })]);
      await tick();
      rx.fail('/flaky', 1); // its first attempt gets a 500: retried after the backoff
      expect(await tick()).toMatchObject({ notifications: 1 });

      await Promise.all([rx.waitFor('/hook', 1), rx.waitFor('/slack', 1), rx.waitFor('/am/api/v2/alerts', 1), rx.waitFor('/flaky', 2)]);
      await collector.alerts.idle(); // the outbox is updated once the receiver has answered

      const [hook] = rx.at('/hook');
      expect(hook!.headers.authorization).toBe('Bearer hook-secret');
      expect(hook!.body).toMatchObject({
        version: '1',
        receiver: 'hook',
        status: 'firing',
        group_labels: { rule: 'cpu_usage' },
        counts: { firing: 1, resolved: 0, not_listed: 0 },
        alerts: [{ key: 'cpu_usage/web1', status: 'firing', rule: 'cpu_usage', agent_id: 'web1', severity: 'warning', value: 90, flapping: false }],
      });
      const incidentId = hook!.body.alerts[0].incident_id;
      expect(incidentId).toEqual(expect.any(Number));
      expect(hook!.body.alerts[0].incident_url).toBe(`http://collector.example:8220/api/v1/incidents/${incidentId}`);

      expect(rx.at('/slack')[0]!.body).toMatchObject({ text: '[FIRING:1] rule=cpu_usage', attachments: [{ color: 'warning' }] });
      expect(rx.at('/slack')[0]!.body.attachments[0].text).toContain('cpu_usage on web1 is 90');

      const am = rx.at('/am/api/v2/alerts');
      expect(am).toHaveLength(1);
      expect(am[0]!.body).toEqual([
        expect.objectContaining({
          labels: { alertname: 'cpu_usage', agent_id: 'web1', instance: 'web1', severity: 'warning', source: 'viworks' },
          annotations: expect.objectContaining({ value: '90', incident_id: String(incidentId) }),
          generatorURL: `http://collector.example:8220/api/v1/incidents/${incidentId}`,
        }),
      ]);
      expect(Date.parse(am[0]!.body[0].endsAt)).toBeGreaterThan(Date.now());

      // The failed attempt and the retry carry the same idempotency key: one message, sent once.
      const flaky = rx.at('/flaky');
      expect(flaky.map((r) => r.headers['idempotency-key'])).toEqual([flaky[0]!.headers['idempotency-key'], flaky[0]!.headers['idempotency-key']]);
      const outbox = (await request(app).get('/api/v1/notifications')).body.notifications;
      expect(outbox.find((n: { receiver: string }) => n.receiver === 'flaky')).toMatchObject({ status: 'sent', attempts: 2, alerts: 1 });
      // A warning does not go to the receiver that only wants critical.
      expect(rx.at('/pager')).toHaveLength(0);

      const incidents = (await request(app).get('/api/v1/incidents?agent=web1&state=open')).body.incidents;
      expect(incidents).toEqual([
        expect.objectContaining({ id: incidentId, rule: 'cpu_usage', state: 'open', severity: 'warning', peak_value: 90, acknowledged_by: null }),
      ]);
    });

    test('unchanged on the next evaluations: deduplicated, nothing sent again', async () => {
      const before = rx.received.length;
      await tick();
      await tick();
      await collector.alerts.idle();
      expect(rx.received.length).toBe(before);
    });

    test('escalation to critical reaches the critical-only receiver; the peak is kept', async () => {
      agents.set('web1', { cpu: 97 });
      await tick(); // critical must hold `for` too
      await tick();
      await tick();
      await Promise.all([rx.waitFor('/pager', 1), rx.waitFor('/hook', 2)]);
      expect(rx.at('/pager')[0]!.body.alerts[0]).toMatchObject({ severity: 'critical', value: 97 });
      expect(rx.at('/hook')[1]!.body.alerts[0]).toMatchObject({ severity: 'critical', value: 97 });
      agents.set('web1', { cpu: 91 }); // inside the recovery margin: stays critical
      await tick();
      await collector.alerts.idle();
      expect(rx.at('/hook')).toHaveLength(2);
    });

    test('acknowledgement through the API is recorded, with who and when', async () => {
      const [incident] = (await request(app).get('/api/v1/incidents?agent=web1&state=open')).body.incidents;
      const res = await request(app).post(`/api/v1/incidents/${incident.id}/acknowledge`).send({ by: 'alice', comment: 'looking at it' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: incident.id, acknowledged_by: 'alice', ack_comment: 'looking at it', acknowledged_at: clock.now().toISOString() });
      const alerts = (await request(app).get('/api/v1/alerts?agent=web1')).body.alerts;
      expect(alerts[0]).toMatchObject({ incident_id: incident.id, acknowledged: true });
      const detail = (await request(app).get(`/api/v1/incidents/${incident.id}`)).body;
      expect(detail.events).toContainEqual(expect.objectContaining({ kind: 'acknowledged', actor: 'alice', detail: 'looking at it' }));
    });

    test.each([
      ['no "by"', 'POST', (id: number) => `/api/v1/incidents/${id}/acknowledge`, {}, 400, 'invalid_body'],
      ['blank "by"', 'POST', (id: number) => `/api/v1/incidents/${id}/acknowledge`, { by: '   ' }, 400, 'invalid_body'],
      ['unknown field', 'POST', (id: number) => `/api/v1/incidents/${id}/acknowledge`, { by: 'bob', urgent: true }, 400, 'invalid_body'],
      ['second acknowledgement', 'POST', (id: number) => `/api/v1/incidents/${id}/acknowledge`, { by: 'bob' }, 409, 'already_acknowledged'],
      ['unknown incident', 'POST', () => '/api/v1/incidents/999999/acknowledge', { by: 'bob' }, 404, 'unknown_incident'],
      ['not an id', 'POST', () => '/api/v1/incidents/abc/acknowledge', { by: 'bob' }, 400, 'invalid_id'],
      ['unknown incident (read)', 'GET', () => '/api/v1/incidents/999999', undefined, 404, 'unknown_incident'],
      ['bad state filter', 'GET', () => '/api/v1/incidents?state=closed', undefined, 400, 'invalid_query'],
      ['bad time', 'GET', () => '/api/v1/incidents?from=yesterday', undefined, 400, 'invalid_query'],
      ['inverted range', 'GET', () => '/api/v1/incidents?from=2025-09-03T10:00:00Z&to=2025-09-03T09:00:00Z', undefined, 400, 'invalid_range'],
      ['unknown parameter', 'GET', () => '/api/v1/alerts?severity=critical', undefined, 400, 'invalid_query'],
      ['bad alert state', 'GET', () => '/api/v1/alerts?state=red', undefined, 400, 'invalid_query'],
    ])('%s → %s', async (_name, method, url, body, status, code) => {
      const [incident] = (await request(app).get('/api/v1/incidents?agent=web1&state=open')).body.incidents;
      const res = method === 'POST' ? await request(app).post(url(incident.id)).send(body) : await request(app).get(url(incident.id));
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
      // Nothing changed: still acknowledged by alice, once.
      const after = (await request(app).get(`/api/v1/incidents/${incident.id}`)).body;
      expect(after).toMatchObject({ acknowledged_by: 'alice', ack_comment: 'looking at it' });
      expect(after.events.filter((e: { kind: string }) => e.kind === 'acknowledged')).toHaveLength(1);
    });

    test('recovery: resolved message to every receiver, incident closed with its duration; MTTR in SQL', async () => {
      const hooks = rx.at('/hook').length;
      agents.set('web1', { cpu: 40 });
      await tick();
      await Promise.all([rx.waitFor('/hook', hooks + 1), rx.waitFor('/pager', 2), rx.waitFor('/slack', 3), rx.waitFor('/am/api/v2/alerts', 3)]);
      const resolved = rx.at('/hook').at(-1)!.body;
      expect(resolved).toMatchObject({ status: 'resolved', counts: { firing: 0, resolved: 1 }, alerts: [{ status: 'resolved', severity: 'critical', value: 40 }] });
      expect(resolved.alerts[0].ends_at).toBe(clock.now().toISOString());
      expect(rx.at('/slack').at(-1)!.body.text).toBe('[RESOLVED:1] rule=cpu_usage');
      expect(rx.at('/am/api/v2/alerts').at(-1)!.body[0].endsAt).toBe(clock.now().toISOString());

      const [incident] = (await request(app).get('/api/v1/incidents?agent=web1')).body.incidents;
      // Firing from the 4th evaluation (+120 s) to the 11th (+330 s).
      expect(incident).toMatchObject({ state: 'resolved', severity: 'critical', peak_severity: 'critical', peak_value: 97, duration_seconds: 210, acknowledged_by: 'alice' });
      expect(incident.flap_count).toBe(1); // warning → critical; the → ok that resolves it is not a flap
      const detail = (await request(app).get(`/api/v1/incidents/${incident.id}`)).body;
      expect(detail.events.map((e: { kind: string }) => e.kind)).toEqual(
        expect.arrayContaining(['opened', 'severity_changed', 'acknowledged', 'resolved', 'notified']),
      );
      expect((await request(app).get('/api/v1/alerts')).body.alerts).toEqual([]);

      const { rows } = await t.db.query<{ agent_id: string; rule: string; incidents: number; mttr_seconds: number }>('SELECT * FROM incident_mttr');
      expect(rows).toEqual([expect.objectContaining({ agent_id: 'web1', rule: 'cpu_usage', incidents: 1, mttr_seconds: 210 })]);
      const mttr = await request(app).get(`/api/v1/incidents/mttr?by=rule&from=${clock.at(-3600).toISOString()}&to=${clock.at(60).toISOString()}`);
      expect(mttr.body.rows).toEqual([{ agent_id: null, rule: 'cpu_usage', incidents: 1, mttr_seconds: 210, longest_seconds: 210 }]);
    });

    test('incident filters: agent, rule, time range', async () => {
      const list = async (qs: string) => (await request(app).get(`/api/v1/incidents?${qs}`)).body.incidents.length;
      expect(await list('agent=web1')).toBe(1);
      expect(await list('agent=web2')).toBe(0);
      expect(await list('rule=cpu_usage')).toBe(1);
      expect(await list('rule=memory_usage')).toBe(0);
      expect(await list(`from=${clock.at(-200).toISOString()}&to=${clock.at(-100).toISOString()}`)).toBe(1);
      expect(await list(`from=${clock.at(60).toISOString()}`)).toBe(0);
      expect(await list(`to=${clock.at(-3600).toISOString()}`)).toBe(0);
    });
  });

  describe('50 agents down at once', () => {
    let t: TestDb;
    let collector: Collector;
    let agents: Awaited<ReturnType<typeof fakeAgents>>;
    let rx: Awaited<ReturnType<typeof recordingReceiver>>;
    const clock = testClock();
    const ids = Array.from({ length: 50 }, (_, i) => `host-${String(i).padStart(2, '0')}`);

    beforeAll(async () => {
      t = await createPgTestDb();
      agents = await fakeAgents(ids, clock.now);
      rx = await recordingReceiver();
      const rules = parseAlertRules({
        rules: { ...allOff, agent_down: { enabled: true, for: '60s' }, cpu_usage: { enabled: true, warning: 80, for: '0s' } },
      });
      const notify = parseNotifyConfig({
        group_wait: '0s',
        receivers: [
          { name: 'hook', type: 'webhook', url: `${rx.url}/hook` },
          { name: 'chat', type: 'slack', url: `${rx.url}/slack` },
        ],
        max_alerts_per_message: 20,
      });
      collector = createCollector({ config: baseConfig({ agents: agents.targets, alerting: { rules, notify }, pollConcurrency: 50 }), db: t.db, logger: silent });
      await collector.start({ schedule: false });
    });
    afterAll(async () => {
      await collector?.stop();
      await agents?.close();
      await rx?.close();
      await t?.drop();
    });

    const tick = async () => {
      clock.advance(30);
      await collector.runTier('metrics');
      await collector.alerts.evaluate({ now: clock.now() });
    };

    test('one grouped message per receiver, not fifty; their metric alerts wait in unknown', async () => {
      agents.set('host-00', { cpu: 90 }); // one host already firing on cpu
      await tick();
      await rx.waitFor('/hook', 1);
      expect(rx.at('/hook')[0]!.body.alerts).toHaveLength(1);

      agents.setAll({ down: true });
      await tick(); // pending
      expect(rx.at('/hook')).toHaveLength(1);
      await tick();
      await tick(); // 60 s down: firing
      await Promise.all([rx.waitFor('/hook', 2), rx.waitFor('/slack', 2)]);
      await collector.alerts.idle();

      expect(rx.at('/hook')).toHaveLength(2);
      expect(rx.at('/slack')).toHaveLength(2);
      const grouped = rx.at('/hook')[1]!.body;
      expect(grouped).toMatchObject({ status: 'firing', group_labels: { rule: 'agent_down' }, counts: { firing: 50, resolved: 0, not_listed: 30 } });
      expect(grouped.alerts).toHaveLength(20);
      expect(grouped.alerts[0]).toMatchObject({ rule: 'agent_down', severity: 'critical', status: 'firing' });
      expect(rx.at('/slack')[1]!.body.text).toBe('[FIRING:50] rule=agent_down');
      expect(rx.at('/slack')[1]!.body.attachments[0].text).toContain('…and 30 more');

      // host-00's cpu alert is unknown, not resolved, while it cannot be polled.
      const { rows } = await t.db.query<{ status: string }>(`SELECT status FROM alert_states WHERE alert_key = 'cpu_usage/host-00'`);
      expect(rows).toEqual([{ status: 'unknown' }]);
      const { rows: open } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM incidents WHERE resolved_at IS NULL`);
      expect(open[0]!.n).toBe(51);
    });

    test('they come back: one grouped resolved message', async () => {
      agents.setAll({ down: false, cpu: 10 });
      await tick();
      // Two groups resolve: agent_down (50 agents) and host-00's cpu_usage.
      await Promise.all([rx.waitFor('/hook', 4), rx.waitFor('/slack', 4)]);
      await collector.alerts.idle();
      expect(rx.at('/hook')).toHaveLength(4);
      const bodies = rx.at('/hook').slice(2).map((r) => r.body);
      const resolvedDown = bodies.find((b) => b.group_labels.rule === 'agent_down')!;
      expect(resolvedDown).toMatchObject({ status: 'resolved', counts: { firing: 0, resolved: 50 } });
      expect(bodies.filter((b) => b.group_labels.rule === 'agent_down')).toHaveLength(1);
      const { rows: open } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM incidents WHERE resolved_at IS NULL`);
      expect(open[0]!.n).toBe(0);
    });
  });

  describe('several collectors on one database', () => {
    let t: TestDb;
    const collectors: Collector[] = [];
    let agents: Awaited<ReturnType<typeof fakeAgents>>;
    const clock = testClock();

    beforeAll(async () => {
      t = await createPgTestDb();
      agents = await fakeAgents(['a1', 'a2'], clock.now);
      for (let i = 0; i < 3; i++) {
        const c = createCollector({ config: baseConfig({ agents: agents.targets }), db: t.db, logger: silent, alertMinIntervalSeconds: 10 });
        await c.start({ schedule: false });
        collectors.push(c);
      }
    });
    afterAll(async () => {
      for (const c of collectors) await c.stop();
      await agents?.close();
      await t?.drop();
    });

    test('exactly one of them evaluates a tick', async () => {
      agents.set('a1', { cpu: 99 });
      await collectors[0]!.runTier('metrics');
      const results = await Promise.all(collectors.map((c) => c.alerts.evaluate({ now: clock.now(), job: 'alerts.metrics' })));
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      // The next tick within the interval is refused to all of them.
      const again = await Promise.all(collectors.map((c) => c.alerts.evaluate({ now: clock.at(1), job: 'alerts.metrics' })));
      expect(again.filter((r) => r !== null)).toHaveLength(0);
    });
  });
});

// The store's SQL on both backends (PGlite is the default store without DATABASE_URL).
describe.each(BACKENDS)('alert store on %s', (backend, make) => {
  const suite = backend === 'postgres' ? describePg : describe;
  suite('a short incident', () => {
    let t: TestDb;
    let collector: Collector;
    let agents: Awaited<ReturnType<typeof fakeAgents>>;
    let rx: Awaited<ReturnType<typeof recordingReceiver>>;
    const clock = testClock();

    beforeAll(async () => {
      t = await make();
      agents = await fakeAgents(['db1'], clock.now);
      rx = await recordingReceiver();
      const rules = parseAlertRules({
        rules: { ...allOff, svc: { type: 'service', services: ['postgres'], severity: 'warning', for: '0s' } },
        groups: { databases: ['db1'] },
        overrides: { 'group:databases': { svc: { severity: 'critical' } } },
      });
      const notify = parseNotifyConfig({ group_wait: '0s', receivers: [{ name: 'hook', type: 'webhook', url: `${rx.url}/hook` }] });
      collector = createCollector({ config: baseConfig({ agents: agents.targets, alerting: { rules, notify } }), db: t.db, logger: silent });
      await collector.start({ schedule: false });
    });
    afterAll(async () => {
      await collector?.stop();
      await agents?.close();
      await rx?.close();
      await t?.drop();
    });

    test('service stopped → critical (group override) → acknowledged → running → resolved', async () => {
      const app = createApp({ db: t.db, registry: new Registry(), logger: silent, version: 'test', now: clock.now });
      agents.set('db1', { services: [{ name: 'postgres', status: 'stopped' }] });
      clock.advance(30);
      await collector.runTier('services');
      await collector.alerts.evaluate({ now: clock.now() });
      await rx.waitFor('/hook', 1);
      expect(rx.at('/hook')[0]!.body.alerts[0]).toMatchObject({ rule: 'svc', subject: 'postgres', severity: 'critical', detail: 'stopped' });

      const [incident] = (await request(app).get('/api/v1/incidents?state=open')).body.incidents;
      expect((await request(app).post(`/api/v1/incidents/${incident.id}/acknowledge`).send({ by: 'ops' })).status).toBe(200);

      agents.set('db1', { services: [{ name: 'postgres', status: 'running' }] });
      clock.advance(30);
      await collector.runTier('services');
      await collector.alerts.evaluate({ now: clock.now() });
      await rx.waitFor('/hook', 2);
      const done = (await request(app).get(`/api/v1/incidents/${incident.id}`)).body;
      expect(done).toMatchObject({ state: 'resolved', acknowledged_by: 'ops', duration_seconds: 30 });
    });
  });
});
