import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import request from 'supertest';
import { DEFAULT_SERVICES } from '../src/sampling/serviceCatalogue';
import { liveAgent } from './helpers';

// A process of our own with a unique name: a service we can start and kill.
const FAKE = `vwtest${process.pid % 100000}`;
const fakeBin = path.join(os.tmpdir(), FAKE);

let agent: Awaited<ReturnType<typeof liveAgent>>;
let child: ChildProcess | null = null;
let ajv: Ajv2020;
let openapi: { paths: Record<string, { get: { responses: Record<string, { content?: Record<string, { schema: unknown }> }> } }> };

function validate(pathName: string, status: number, body: unknown) {
  const schema = openapi.paths[pathName]!.get.responses[String(status)]!.content!['application/json']!.schema;
  const ok = ajv.validate({ ...(schema as object), components: (openapi as unknown as { components: unknown }).components }, body);
  if (!ok) throw new Error(`${pathName} ${status} does not match the OpenAPI document: ${ajv.errorsText()}`);
}

beforeAll(async () => {
  fs.copyFileSync('/bin/sleep', fakeBin);
  fs.chmodSync(fakeBin, 0o755);
  child = spawn(fakeBin, ['300'], { stdio: 'ignore' });
  await new Promise((r) => child!.once('spawn', r));
  agent = await liveAgent([...DEFAULT_SERVICES, { name: 'fake-svc', processNames: [FAKE], units: [] }]);
  openapi = (await request(agent.app).get('/api/v1/openapi.json').expect(200)).body;
  ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await agent?.sampler.stop();
  fs.rmSync(fakeBin, { force: true });
});

test('GET /api/v1/health answers healthy with version and uptime', async () => {
  const res = await request(agent.app).get('/api/v1/health').expect(200);
  validate('/api/v1/health', 200, res.body);
  expect(res.body).toMatchObject({ status: 'healthy', version: '0.1.0' });
  expect(res.body.uptime).toBeGreaterThanOrEqual(5);
});

test('GET /api/v1/status: the spec shape, plausible live values, sample time as timestamp', async () => {
  const res = await request(agent.app).get('/api/v1/status').expect(200);
  validate('/api/v1/status', 200, res.body);
  const { system, timestamp } = res.body;
  expect(timestamp).toBe(agent.sampler.latest()!.status.timestamp);
  for (const k of ['cpu_usage_percent', 'memory_usage_percent', 'disk_usage_percent']) {
    expect(system[k]).toBeGreaterThanOrEqual(0);
    expect(system[k]).toBeLessThanOrEqual(100);
  }
  // Memory and disk on a real host are never exactly zero (the spec's placeholder was).
  expect(system.memory_usage_percent).toBeGreaterThan(0);
  expect(system.disk_usage_percent).toBeGreaterThan(0);
  expect(system.uptime_seconds).toBeGreaterThan(0);
  expect(Math.abs(system.uptime_seconds - os.uptime())).toBeLessThan(120);
  const [l1] = os.loadavg();
  expect(Math.abs(system.load_average.one_minute - l1!)).toBeLessThan(2);
  // Docker is absent here (socket path does not exist): a state, not a failure.
  expect(res.body.docker.available).toBe(false);
  expect(res.body.containers).toEqual([]);
});

test('disk_usage_percent matches df for /', async () => {
  const res = await request(agent.app).get('/api/v1/status').expect(200);
  const df = execFileSync('df', ['--output=pcent', '/'], { encoding: 'utf8' }).split('\n')[1]!.trim();
  // df rounds up to a whole percent.
  expect(Math.ceil(res.body.system.disk_usage_percent)).toBeGreaterThanOrEqual(Number(df.replace('%', '')) - 1);
  expect(Math.ceil(res.body.system.disk_usage_percent)).toBeLessThanOrEqual(Number(df.replace('%', '')) + 1);
});

const pgrep = (name: string): number | null => {
  try {
    return Number(execFileSync('pgrep', ['-o', '-x', name], { encoding: 'utf8' }).trim());
  } catch {
    return null;
  }
};

test('PostgreSQL, running on this machine, is reported running with the PID pgrep finds', async () => {
  const pid = pgrep('postgres');
  if (pid === null) {
    if (process.env.CI === 'true') throw new Error('CI=true but no postgres process is running');
    console.warn('postgres is not running here: skipping the PID check');
    return;
  }
  const res = await request(agent.app).get('/api/v1/status').expect(200);
  const pg = res.body.services.find((s: { name: string }) => s.name === 'postgres');
  expect(pg).toMatchObject({ status: 'running', pid, source: 'proc' });
  expect(pg.process_count).toBeGreaterThan(1);
  expect(pg.memory_bytes).toBeGreaterThan(0);
});

test('a process we start is running with its PID; killed, it is stopped', async () => {
  await agent.sampler.sampleNow();
  let res = await request(agent.app).get('/api/v1/status').expect(200);
  let svc = res.body.services.find((s: { name: string }) => s.name === 'fake-svc');
  expect(svc).toMatchObject({ status: 'running', pid: child!.pid, process_count: 1 });
  expect(svc.cpu_percent).toBeGreaterThanOrEqual(0);
  const exited = new Promise((r) => child!.once('exit', r));
  child!.kill('SIGKILL');
  await exited;
  await agent.sampler.sampleNow();
  res = await request(agent.app).get('/api/v1/status').expect(200);
  svc = res.body.services.find((s: { name: string }) => s.name === 'fake-svc');
  expect(svc).toMatchObject({ status: 'stopped', pid: null, process_count: 0 });
});

test('the agent reports itself with its own PID; services not installed here are stopped', async () => {
  const res = await request(agent.app).get('/api/v1/status').expect(200);
  const self = res.body.services.find((s: { name: string }) => s.name === 'viworks-agent');
  expect(self).toMatchObject({ status: 'running', pid: process.pid });
  expect(self.memory_bytes).toBeGreaterThan(10_000_000);
  for (const name of ['openvpn', 'nginx']) {
    if (pgrep(name === 'openvpn' ? 'openvpn' : 'nginx') !== null) continue;
    expect(res.body.services.find((s: { name: string }) => s.name === name)).toMatchObject({ status: 'stopped', pid: null });
  }
});

test('GET /api/v1/status-simple summarises the same sample', async () => {
  const status = (await request(agent.app).get('/api/v1/status').expect(200)).body;
  const res = await request(agent.app).get('/api/v1/status-simple').expect(200);
  validate('/api/v1/status-simple', 200, res.body);
  expect(res.body).toMatchObject({
    timestamp: status.timestamp,
    cpu_usage_percent: status.system.cpu_usage_percent,
    services_total: status.services.length,
    services_down: status.services.filter((s: { status: string }) => s.status !== 'running').length,
  });
  // Some default services are not installed here, so the host cannot be "healthy".
  expect(['degraded', 'critical']).toContain(res.body.status);
});

test('GET /api/v1/system: hardware, OS and network inventory of this host', async () => {
  const res = await request(agent.app).get('/api/v1/system').expect(200);
  validate('/api/v1/system', 200, res.body);
  expect(res.body.cpu.cores).toBe(os.cpus().length);
  expect(res.body.memory.total_gb).toBeCloseTo(os.totalmem() / 1024 ** 3, 1);
  expect(res.body.system.hostname).toBe(os.hostname());
  expect(res.body.system.kernel_version).toBe(os.release());
  expect(res.body.network.interfaces).toContain('lo');
  const sum = res.body.network.interface_stats.reduce((s: number, i: { bytes_received: number }) => s + i.bytes_received, 0);
  expect(res.body.network.bytes_received).toBe(sum);
  expect(res.body.disks.some((d: { mount: string }) => d.mount === '/')).toBe(true);
});

test('GET /metrics: Prometheus text with host gauges, service gauges and process metrics', async () => {
  const res = await request(agent.app).get('/metrics').expect(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  const status = agent.sampler.latest()!.status;
  expect(res.text).toContain(`viworks_host_cpu_usage_percent ${status.system.cpu_usage_percent}`);
  expect(res.text).toContain(`viworks_host_load1 ${status.system.load_average.one_minute}`);
  expect(res.text).toMatch(/viworks_service_up\{service="viworks-agent"\} 1/);
  expect(res.text).toMatch(/viworks_agent_process_resident_memory_bytes \d+/);
  expect(res.text).toMatch(/viworks_agent_sample_duration_seconds_count \d+/);
  // No sensor here: the temperature series is absent rather than a fake 0.
  if (status.system.temperature === null) expect(res.text).not.toMatch(/^viworks_host_temperature_celsius/m);
  else expect(res.text).toContain(`viworks_host_temperature_celsius{sensor="cpu"} ${status.system.temperature}`);
  expect(res.text).toContain(`viworks_host_memory_total_bytes ${os.totalmem()}`);
});

test('unknown routes get a JSON 404 naming the route', async () => {
  const res = await request(agent.app).get('/api/v1/nope').expect(404);
  expect(res.body).toEqual({ error: { code: 'not_found', message: 'no route for GET /api/v1/nope' } });
});

test('requests never sample: the snapshot changes only when the sampler runs', async () => {
  const before = agent.sampler.latest()!.status.timestamp;
  for (let i = 0; i < 5; i++) await request(agent.app).get('/api/v1/status').expect(200);
  expect(agent.sampler.latest()!.status.timestamp).toBe(before);
});
