import { ConfigError, loadConfig } from '../src/config';

test('defaults: 127.0.0.1:8210, 5 s samples, the spec services plus the agent', () => {
  const c = loadConfig({});
  expect(c).toMatchObject({ host: '127.0.0.1', port: 8210, sampleIntervalMs: 5000, diskMount: '/' });
  expect(c.services.map((s) => s.name)).toEqual(['docker', 'sshd', 'nginx', 'postgres', 'redis', 'openvpn', 'viworks-agent']);
  expect(Object.isFrozen(c)).toBe(true);
});

test.each([
  [{ AGENT_PORT: 'eighty' }, /AGENT_PORT/],
  [{ AGENT_PORT: '70000' }, /AGENT_PORT/],
  [{ AGENT_SAMPLE_INTERVAL_MS: '10' }, /AGENT_SAMPLE_INTERVAL_MS/],
  [{ AGENT_DISK_MOUNT: 'var' }, /AGENT_DISK_MOUNT: must be an absolute path/],
  [{ AGENT_ID: 'has space' }, /AGENT_ID/],
  [{ AGENT_SERVICES: 'nope' }, /AGENT_SERVICES: unknown service "nope"/],
  [{ AGENT_LOG_LEVEL: 'loud' }, /AGENT_LOG_LEVEL/],
])('%j fails start-up naming the variable', (env, message) => {
  expect(() => loadConfig(env)).toThrow(ConfigError);
  expect(() => loadConfig(env)).toThrow(message);
});
