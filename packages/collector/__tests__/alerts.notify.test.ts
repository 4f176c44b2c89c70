import { planRestart } from '../src/alerts/planRestart';
import type { AutoRestartPolicy } from '../src/alerts/rules';
import { afterFailure, retryDelayMs } from '../src/notify/backoff';
import { groupNotifications, latestPerAlert, type OutboxAlert } from '../src/notify/group';
import { buildRequest } from '../src/notify/payloads';
import { parseNotifyConfig } from '../src/notify/receivers';
import type { ActionRecord } from '../src/store/incidents';

const T0 = Date.parse('2025-09-03T10:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);

const alert = (over: Partial<OutboxAlert> = {}): OutboxAlert => ({
  key: 'agent_down/h1',
  rule: 'agent_down',
  agentId: 'h1',
  subject: null,
  status: 'firing',
  severity: 'critical',
  value: null,
  detail: 'connection_refused: connection refused',
  summary: 'agent h1 does not answer',
  flapping: false,
  escalated: false,
  repeat: false,
  startsAt: at(0).toISOString(),
  endsAt: null,
  at: at(90).toISOString(),
  repeatIntervalMs: 4 * 3_600_000,
  incidentId: 7,
  ...over,
});

const cfg = (over: Record<string, unknown> = {}) =>
  parseNotifyConfig({
    group_wait: '10s',
    receivers: [
      { name: 'hook', type: 'webhook', url: 'http://hooks.example/a' },
      { name: 'chat', type: 'slack', url: 'http://chat.example/b', severities: ['critical'] },
      { name: 'am', type: 'alertmanager', url: 'http://am.example:9093', send_resolved: false },
    ],
    ...over,
  });

describe('grouping', () => {
  test('50 hosts down in one evaluation → one message per receiver', () => {
    const alerts = Array.from({ length: 50 }, (_, i) => alert({ key: `agent_down/h${i}`, agentId: `h${i}` }));
    const items = groupNotifications(cfg(), alerts, at(90));
    expect(items.map((i) => [i.receiver, i.groupKey, i.alerts.length])).toEqual([
      ['hook', 'rule=agent_down', 50],
      ['chat', 'rule=agent_down', 50],
      ['am', 'rule=agent_down', 50],
    ]);
    expect(items[0]!.deliverAfter).toEqual(at(100)); // group_wait
  });

  test.each<[string, string[], number]>([
    ['by rule', ['rule'], 2],
    ['by rule and agent', ['rule', 'agent'], 3],
    ['everything together', [], 1],
  ])('group_by %s', (_n, groupBy, groups) => {
    const alerts = [alert(), alert({ key: 'agent_down/h2', agentId: 'h2' }), alert({ key: 'cpu_usage/h1', rule: 'cpu_usage' })];
    const hook = groupNotifications(cfg({ group_by: groupBy, receivers: [{ name: 'hook', type: 'webhook', url: 'http://h' }] }), alerts, at(0));
    expect(hook).toHaveLength(groups);
  });

  test('receiver filters: severities, rules, agents, send_resolved', () => {
    const c = cfg({
      receivers: [
        { name: 'crit', type: 'webhook', url: 'http://h', severities: ['critical'] },
        { name: 'cpu', type: 'webhook', url: 'http://h', rules: ['cpu_usage'] },
        { name: 'h2', type: 'webhook', url: 'http://h', agents: ['h2'] },
        { name: 'quiet', type: 'webhook', url: 'http://h', send_resolved: false },
      ],
    });
    const names = (a: OutboxAlert) => groupNotifications(c, [a], at(0)).map((i) => i.receiver);
    expect(names(alert())).toEqual(['crit', 'quiet']);
    expect(names(alert({ rule: 'cpu_usage', severity: 'warning' }))).toEqual(['cpu', 'quiet']);
    expect(names(alert({ agentId: 'h2', status: 'resolved' }))).toEqual(['crit', 'h2']);
  });

  test('dedup within a message: an alert that fired and resolved while it waited is sent once, resolved', () => {
    const merged = latestPerAlert([alert(), alert({ key: 'agent_down/h2', agentId: 'h2' }), alert({ status: 'resolved', at: at(120).toISOString() })]);
    expect(merged.map((a) => `${a.key}:${a.status}`)).toEqual(['agent_down/h2:firing', 'agent_down/h1:resolved']);
  });
});

describe('payloads', () => {
  const message = { id: 42, groupKey: 'rule=agent_down', attempt: 1, alerts: [alert(), alert({ key: 'agent_down/h2', agentId: 'h2', status: 'resolved', endsAt: at(95).toISOString() })] };

  test('webhook: generic JSON with counts and an idempotency key', () => {
    const c = cfg({ external_url: 'https://mon.example' });
    const r = buildRequest(c.receivers[0]!, c, message, at(100));
    expect(r.url).toBe('http://hooks.example/a');
    expect(r.headers['idempotency-key']).toBe('viworks-notification-42');
    expect(r.body).toMatchObject({
      version: '1',
      notification_id: 42,
      status: 'firing',
      group_labels: { rule: 'agent_down' },
      counts: { firing: 1, resolved: 1, not_listed: 0 },
      alerts: [
        { key: 'agent_down/h1', status: 'firing', incident_id: 7, incident_url: 'https://mon.example/api/v1/incidents/7' },
        { key: 'agent_down/h2', status: 'resolved', ends_at: at(95).toISOString() },
      ],
    });
  });

  test('slack: text headline and a coloured attachment', () => {
    const c = cfg();
    const r = buildRequest(c.receivers[1]!, c, message, at(100));
    expect(r.body).toMatchObject({ text: '[FIRING:1 RESOLVED:1] rule=agent_down', attachments: [{ color: 'danger' }] });
    expect((r.body as { attachments: Array<{ text: string }> }).attachments[0]!.text.split('\n')).toHaveLength(2);
  });

  test('alertmanager: POST /api/v2/alerts body; firing alerts live two repeat intervals', () => {
    const c = cfg();
    const r = buildRequest(c.receivers[2]!, c, message, at(100));
    expect(r.url).toBe('http://am.example:9093/api/v2/alerts');
    expect(r.body).toEqual([
      {
        labels: { alertname: 'agent_down', agent_id: 'h1', instance: 'h1', severity: 'critical', source: 'viworks' },
        annotations: { summary: 'agent h1 does not answer', detail: 'connection_refused: connection refused', incident_id: '7' },
        startsAt: at(0).toISOString(),
        endsAt: new Date(T0 + 100_000 + 8 * 3_600_000).toISOString(),
      },
      expect.objectContaining({ labels: expect.objectContaining({ agent_id: 'h2' }), endsAt: at(95).toISOString() }),
    ]);
  });
});

describe('retries', () => {
  test.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [7, 60_000], // capped
    [50, 60_000],
  ])('retry %s waits %s ms', (attempt, ms) => {
    expect(retryDelayMs(attempt, { initialMs: 1000, maxMs: 60_000 })).toBe(ms);
  });

  test.each<[string, number, boolean, unknown]>([
    ['retryable, attempts left', 2, true, { retryAt: at(2) }],
    ['last attempt', 5, true, { giveUp: true }],
    ['not retryable (4xx)', 1, false, { giveUp: true }],
  ])('%s', (_n, attempt, retryable, expected) => {
    expect(afterFailure(attempt, retryable, at(0), { initialMs: 1000, maxMs: 60_000, maxAttempts: 5 })).toEqual(expected);
  });
});

describe('automated restart planning', () => {
  const policy: AutoRestartPolicy = {
    services: null,
    on: ['stopped', 'error'],
    maxPerHour: 3,
    backoffMs: 30_000,
    maxBackoffMs: 60_000,
    verifyTimeoutMs: 60_000,
    verifyIntervalMs: 5000,
    requestTimeoutMs: 130_000,
  };
  const action = (startedS: number, status: ActionRecord['status'], incidentId = 1, finishedS: number | null = startedS + 10): ActionRecord => ({
    id: startedS,
    incidentId,
    agentId: 'h1',
    service: 'nginx',
    status,
    startedAt: at(startedS).toISOString(),
    finishedAt: finishedS === null ? null : at(finishedS).toISOString(),
    detail: null,
  });
  const candidate = { status: 'firing', detail: 'stopped', service: 'nginx', incidentId: 1 };

  test.each<[string, Parameters<typeof planRestart>[0], Partial<typeof candidate>, ActionRecord[], number, unknown]>([
    ['first time: restart', policy, {}, [], 0, { kind: 'restart', attempt: 1 }],
    ['no policy', null, {}, [], 0, { kind: 'none' }],
    ['service not in the policy', { ...policy, services: ['redis'] }, {}, [], 0, { kind: 'none' }],
    ['pending alert', policy, { status: 'pending' }, [], 0, { kind: 'none' }],
    ['unknown (agent unreachable)', policy, { status: 'unknown' }, [], 0, { kind: 'none' }],
    ['unresponsive is not restarted', policy, { detail: 'unresponsive' }, [], 0, { kind: 'none' }],
    ['error only when the policy says', { ...policy, on: ['stopped'] }, { detail: 'error' }, [], 0, { kind: 'none' }],
    ['a restart still running', policy, {}, [action(0, 'started', 1, null)], 30, { kind: 'in_progress' }],
    ['a stuck restart stops blocking', policy, {}, [action(0, 'started', 1, null)], 300, { kind: 'restart', attempt: 2 }],
    ['backoff after the 1st failure', policy, {}, [action(0, 'failed')], 30, { kind: 'wait', until: at(40).toISOString() }],
    ['after the backoff', policy, {}, [action(0, 'failed')], 40, { kind: 'restart', attempt: 2 }],
    ['backoff doubles', policy, {}, [action(0, 'failed'), action(40, 'failed')], 100, { kind: 'wait', until: at(110).toISOString() }],
    ['backoff capped', policy, {}, [action(0, 'failed'), action(40, 'failed')], 110, { kind: 'restart', attempt: 3 }],
    ['budget spent within the hour (across incidents)', policy, {}, [action(0, 'succeeded', 0), action(600, 'succeeded', 0), action(1200, 'failed')], 1300, { kind: 'budget_exhausted', used: 3, record: true }],
    ['budget spent, already recorded', policy, {}, [action(0, 'succeeded', 0), action(600, 'succeeded', 0), action(1200, 'failed'), action(1300, 'skipped')], 1400, { kind: 'budget_exhausted', used: 3, record: false }],
    ['budget back after an hour', policy, {}, [action(0, 'succeeded', 0), action(600, 'succeeded', 0), action(1200, 'succeeded', 0)], 3601, { kind: 'restart', attempt: 1 }],
  ])('%s', (_n, p, over, actions, nowS, expected) => {
    expect(planRestart(p, { ...candidate, ...over }, actions, at(nowS))).toMatchObject(expected as object);
  });
});
