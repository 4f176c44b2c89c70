import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, parseAgentList } from '../src/config';

test('defaults: port 8220, the spec tiers, 30-day retention, embedded store', () => {
  const c = loadConfig({});
  expect(c).toMatchObject({
    databaseUrl: null,
    host: '127.0.0.1',
    port: 8220,
    schedules: { metrics: '*/30 * * * * *', services: '0 */5 * * * *', inventory: '0 0 * * * *' },
    retentionDays: 30,
    agents: [],
  });
  expect(Object.isFrozen(c)).toBe(true);
});

test('agents from the short form and from JSON', () => {
  expect(parseAgentList('web-1=http://10.0.0.5:8210/, db-1=https://db.example:8210', 'X')).toEqual([
    { id: 'web-1', baseUrl: 'http://10.0.0.5:8210', token: null },
    { id: 'db-1', baseUrl: 'https://db.example:8210', token: null },
  ]);
  expect(parseAgentList('[{"id":"a","url":"http://h:1","token":"s3cret"}]', 'X')).toEqual([{ id: 'a', baseUrl: 'http://h:1', token: 's3cret' }]);
});

test('agents file and environment combine', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vw-')), 'agents.json');
  fs.writeFileSync(file, JSON.stringify([{ id: 'from-file', url: 'http://127.0.0.1:1' }]));
  const c = loadConfig({ COLLECTOR_AGENTS_FILE: file, COLLECTOR_AGENTS: 'from-env=http://127.0.0.1:2' });
  expect(c.agents.map((a) => a.id)).toEqual(['from-file', 'from-env']);
});

test.each([
  [{ COLLECTOR_PORT: '-1' }, /^invalid COLLECTOR_PORT/],
  [{ DATABASE_URL: 'mysql://x' }, /^invalid DATABASE_URL: must be a postgres:\/\/ URL/],
  [{ COLLECTOR_METRICS_SCHEDULE: 'every 30s' }, /^invalid COLLECTOR_METRICS_SCHEDULE: must be a valid cron expression/],
  [{ COLLECTOR_RETENTION_DAYS: '0' }, /^invalid COLLECTOR_RETENTION_DAYS/],
  [{ COLLECTOR_POLL_ON_START: 'maybe' }, /^invalid COLLECTOR_POLL_ON_START/],
  [{ COLLECTOR_AGENTS: 'web-1' }, /COLLECTOR_AGENTS: agent #1: url/],
  [{ COLLECTOR_AGENTS: 'web 1=http://x:1' }, /COLLECTOR_AGENTS: agent #1: id/],
  [{ COLLECTOR_AGENTS: 'a=ftp://x' }, /COLLECTOR_AGENTS: agent #1: url: must be an http/],
  [{ COLLECTOR_AGENTS: 'a=http://x:1,a=http://y:1' }, /listed twice/],
  [{ COLLECTOR_AGENTS: '[{"id":"a"' }, /COLLECTOR_AGENTS: not valid JSON/],
  [{ COLLECTOR_AGENTS: '[{"id":"a","url":"http://x","extra":1}]' }, /COLLECTOR_AGENTS: agent #1/],
  [{ COLLECTOR_AGENTS_FILE: '/nonexistent/agents.json' }, /^invalid COLLECTOR_AGENTS_FILE: cannot read/],
])('%j fails start-up naming the variable', (env, message) => {
  expect(() => loadConfig(env)).toThrow(ConfigError);
  expect(() => loadConfig(env)).toThrow(message);
});
