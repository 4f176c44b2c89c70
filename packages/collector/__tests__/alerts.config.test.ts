import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAlertRules, rulesForAgent, type MetricRule, type ServiceRule } from '../src/alerts/rules';
import { ConfigError, loadConfig } from '../src/config';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vw-alert-config-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
const file = (content: unknown) => {
  const f = path.join(dir, `f${n++}.json`);
  fs.writeFileSync(f, typeof content === 'string' ? content : JSON.stringify(content));
  return f;
};

test('defaults: the spec thresholds, its critical and monitoring services, agent_down', () => {
  const rules = rulesForAgent(loadConfig({}).alerting!.rules, 'any');
  const byName = Object.fromEntries(rules.map((r) => [r.name, r]));
  expect(byName.cpu_usage).toMatchObject({ type: 'metric', metric: 'cpu_usage', warning: 80, critical: 95, forMs: 60_000 });
  expect(byName.memory_usage).toMatchObject({ warning: 85, critical: 95 });
  expect(byName.load_average).toMatchObject({ metric: 'load_1m', warning: 2, critical: 5 });
  expect(byName.disk_usage).toMatchObject({ warning: 85, critical: 95, forMs: 300_000 });
  expect(byName.critical_services).toMatchObject({ services: ['nginx', 'sshd', 'viworks-gateway-agent'], severity: 'critical', alertOn: ['stopped', 'error', 'unresponsive'] });
  expect(byName.monitoring_services).toMatchObject({ services: ['docker', 'postgres', 'redis', 'openvpn'], severity: 'warning', autoRestart: null });
  expect(byName.agent_down).toMatchObject({ type: 'agent_down', severity: 'critical', forMs: 90_000 });
  expect(loadConfig({}).alerting!.notify.receivers).toEqual([]);
});

test('overrides: file over defaults, then groups in file order, then the agent itself', () => {
  const cfg = parseAlertRules({
    defaults: { for: '2m' },
    rules: { cpu_usage: { warning: 70 }, temp: { type: 'metric', metric: 'temperature', critical: 90 } },
    groups: { databases: ['db1', 'db2'], big: ['db1'] },
    overrides: {
      'group:databases': { cpu_usage: { warning: 85, critical: 98 }, monitoring_services: { auto_restart: { services: ['postgres'] } } },
      'agent:db1': { cpu_usage: { for: '30s' }, disk_usage: { enabled: false } },
      'group:big': { cpu_usage: { warning: 90 } },
    },
  });
  const cpu = (agent: string) => rulesForAgent(cfg, agent).find((r) => r.name === 'cpu_usage') as MetricRule;
  expect(cpu('web1')).toMatchObject({ warning: 70, critical: 95, forMs: 120_000 });
  expect(cpu('db2')).toMatchObject({ warning: 85, critical: 98, forMs: 120_000 });
  expect(cpu('db1')).toMatchObject({ warning: 90, critical: 98, forMs: 30_000 });
  expect(rulesForAgent(cfg, 'db1').map((r) => r.name)).not.toContain('disk_usage');
  expect(rulesForAgent(cfg, 'web1').find((r) => r.name === 'temp')).toMatchObject({ warning: null, critical: 90 });
  const svc = rulesForAgent(cfg, 'db2').find((r) => r.name === 'monitoring_services') as ServiceRule;
  expect(svc.autoRestart).toMatchObject({ services: ['postgres'], maxPerHour: 3, backoffMs: 30_000, verifyTimeoutMs: 60_000 });
});

// Start-up fails on a bad rules or receivers file, naming the variable, the rule (or receiver) and the field.
test.each<[string, unknown, string]>([
  ['warning above critical', { rules: { cpu_usage: { warning: 99 } } }, 'rule "cpu_usage": field "warning": must be below critical (95)'],
  ['not a duration', { rules: { memory_usage: { for: 'soon' } } }, 'rule "memory_usage": field "for": must be a duration like "30s", "5m" or "1h"'],
  ['misspelt field', { rules: { cpu_usage: { warnng: 80 } } }, 'rule "cpu_usage": field "warnng": unknown field'],
  ['new rule without type', { rules: { my_cpu: { metric: 'cpu_usage', warning: 50 } } }, 'rule "my_cpu": field "type": must be one of metric, service, agent_down'],
  ['unknown metric', { rules: { my_cpu: { type: 'metric', metric: 'cpu', warning: 50 } } }, 'rule "my_cpu": field "metric": must be one of cpu_usage'],
  ['metric rule with no level', { rules: { my_cpu: { type: 'metric', metric: 'cpu_usage' } } }, 'rule "my_cpu": field "warning": a metric rule needs warning or critical'],
  ['threshold not a number', { rules: { load_average: { critical: 'high' } } }, 'rule "load_average": field "critical": must be a number'],
  ['bad severity', { rules: { svc: { type: 'service', services: ['nginx'], severity: 'high' } } }, 'rule "svc": field "severity": must be warning or critical'],
  ['bad alert_on', { rules: { svc: { type: 'service', services: ['nginx'], severity: 'warning', alert_on: ['down'] } } }, 'rule "svc": field "alert_on.0": must be one of stopped, error, unresponsive'],
  ['no services', { rules: { svc: { type: 'service', services: [], severity: 'warning' } } }, 'rule "svc": field "services": must list at least one service'],
  ['restart of a service not in the rule', { rules: { critical_services: { auto_restart: { services: ['redis'] } } } }, 'rule "critical_services": field "auto_restart.services": "redis" is not one of this rule\'s services'],
  ['restart budget', { rules: { critical_services: { auto_restart: { max_per_hour: 0 } } } }, 'rule "critical_services": field "auto_restart.max_per_hour"'],
  ['flapping thresholds', { rules: { cpu_usage: { flapping: { low: 60 } } } }, 'rule "cpu_usage": field "flapping.low": low must be below high'],
  ['negative margin', { rules: { cpu_usage: { recovery_margin: -1 } } }, 'rule "cpu_usage": field "recovery_margin": must not be negative'],
  ['a default rule changing type', { rules: { cpu_usage: { type: 'service' } } }, 'rule "cpu_usage": field "type": a default rule keeps its type'],
  ['bad default', { defaults: { keep_firing_for: '1 minute' } }, 'defaults: field "keep_firing_for": must be a duration'],
  ['unknown top-level field', { rule: {} }, 'field "rule": unknown field'],
  ['override of an unknown group', { overrides: { 'group:db': { cpu_usage: { warning: 90 } } } }, 'override "group:db": no group "db" in "groups"'],
  ['override of an unknown rule', { groups: { db: ['db1'] }, overrides: { 'group:db': { cpu_usge: { warning: 90 } } } }, 'override "group:db": rule "cpu_usge": no such rule'],
  ['override breaking a rule', { groups: { db: ['db1'] }, overrides: { 'group:db': { cpu_usage: { critical: 70 } } } }, 'override "group:db": rule "cpu_usage": field "warning": must be below critical (70)'],
  ['override of the metric', { overrides: { 'agent:db1': { cpu_usage: { metric: 'load_1m' } } } }, 'override "agent:db1": rule "cpu_usage": field "metric": cannot be overridden'],
  [
    'overrides valid alone, invalid together for one agent',
    { groups: { db: ['db1'] }, overrides: { 'group:db': { cpu_usage: { critical: 90 } }, 'agent:db1': { cpu_usage: { warning: 92 } } } },
    'agent "db1": rule "cpu_usage": field "warning": must be below critical (90)',
  ],
  ['not JSON', '{"rules": {', 'is not valid JSON'],
])('rules file: %s', (_name, content, message) => {
  const env = { COLLECTOR_ALERT_RULES_FILE: file(content), COLLECTOR_AGENTS: 'db1=http://127.0.0.1:1' };
  expect(() => loadConfig(env)).toThrow(ConfigError);
  expect(() => loadConfig(env)).toThrow(`invalid COLLECTOR_ALERT_RULES_FILE: ${content === '{"rules": {' ? '' : message}`);
  expect(() => loadConfig(env)).toThrow(message);
});

test.each<[string, unknown, string]>([
  ['unknown type', { receivers: [{ name: 'mail', type: 'email', url: 'http://x' }] }, 'receiver "mail": field "type": must be one of webhook, slack, alertmanager'],
  ['bad url', { receivers: [{ name: 'hook', type: 'webhook', url: 'ftp://x' }] }, 'receiver "hook": field "url": must be an http:// or https:// URL'],
  ['no name', { receivers: [{ type: 'webhook', url: 'http://x' }] }, 'receiver #1: field "name"'],
  ['duplicate name', { receivers: [{ name: 'a', type: 'slack', url: 'http://x' }, { name: 'a', type: 'slack', url: 'http://y' }] }, 'receiver "a": field "name": used twice'],
  ['header with a line break', { receivers: [{ name: 'a', type: 'webhook', url: 'http://x', headers: { 'x-a': 'b\r\nc' } }] }, 'receiver "a": field "headers.x-a": must not contain line breaks'],
  ['bad group_by', { group_by: ['host'] }, 'field "group_by.0": must be one of rule, severity, agent, subject, status'],
  ['retry initial above max', { retry: { initial: '10m', max: '1m' } }, 'field "retry.initial": must not exceed retry.max'],
])('receivers file: %s', (_name, content, message) => {
  const env = { COLLECTOR_RECEIVERS_FILE: file(content) };
  expect(() => loadConfig(env)).toThrow(`invalid COLLECTOR_RECEIVERS_FILE: ${message}`);
});

test('a missing file names the variable', () => {
  expect(() => loadConfig({ COLLECTOR_ALERT_RULES_FILE: path.join(dir, 'nope.json') })).toThrow(/^invalid COLLECTOR_ALERT_RULES_FILE: cannot read/);
});

// The real program: start-up fails with exit code 78 (EX_CONFIG) and the message, before touching any store.
test('the collector refuses to start on a bad rule, naming the rule and the field', async () => {
  const repo = path.resolve(__dirname, '../../..');
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', path.join(repo, 'packages/collector/src/main.ts')],
      {
        cwd: repo,
        timeout: 20_000,
        env: {
          ...process.env,
          NODE_OPTIONS: '',
          TS_NODE_PROJECT: path.join(repo, 'tsconfig.test.json'),
          COLLECTOR_DATA_DIR: path.join(dir, 'data'),
          COLLECTOR_ALERT_RULES_FILE: file({ rules: { critical_services: { severity: 'urgent' } } }),
        },
      },
      (err, _stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stderr }),
    );
  });
  expect(result.stderr).toContain('viworks-collector: invalid COLLECTOR_ALERT_RULES_FILE: rule "critical_services": field "severity": must be warning or critical');
  expect(result.code).toBe(78);
  expect(fs.existsSync(path.join(dir, 'data'))).toBe(false);
});
