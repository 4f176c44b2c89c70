import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { agentOpenApiDocument, evaluateOverallHealth, StatusResponse, type ServiceStatus, type SystemMetrics } from '../src';

const system = (over: Partial<SystemMetrics> = {}): SystemMetrics => ({
  cpu_usage_percent: 10,
  memory_usage_percent: 10,
  disk_usage_percent: 10,
  load_average: { one_minute: 0.1, five_minutes: 0.1, fifteen_minutes: 0.1 },
  uptime_seconds: 1,
  temperature: null,
  ...over,
});
const svc = (status: ServiceStatus['status']): ServiceStatus => ({ name: 'nginx', status, pid: null, process_count: 0, cpu_percent: null, memory_bytes: null, source: 'proc', detail: null });

test.each([
  ['all quiet', system(), [svc('running')], 'healthy'],
  ['cpu at the 80 % warning', system({ cpu_usage_percent: 80 }), [], 'degraded'],
  ['cpu at the 95 % critical', system({ cpu_usage_percent: 95 }), [], 'critical'],
  ['memory 85 % warning', system({ memory_usage_percent: 85 }), [], 'degraded'],
  ['memory 94.99 % still warning', system({ memory_usage_percent: 94.99 }), [], 'degraded'],
  ['load 5 critical', system({ load_average: { one_minute: 5, five_minutes: 1, fifteen_minutes: 1 } }), [], 'critical'],
  ['load 2 warning', system({ load_average: { one_minute: 2, five_minutes: 1, fifteen_minutes: 1 } }), [], 'degraded'],
  ['a service stopped', system(), [svc('stopped')], 'degraded'],
  ['a service in error', system(), [svc('error')], 'degraded'],
])('%s → %s', (_name, sys, services, expected) => {
  expect(evaluateOverallHealth(sys, services)).toBe(expected);
});

test('the OpenAPI document is valid JSON Schema for every response it names', () => {
  const doc = agentOpenApiDocument('1.2.3') as { openapi: string; info: { version: string }; components: { schemas: Record<string, object> } };
  expect(doc.openapi).toBe('3.1.0');
  expect(doc.info.version).toBe('1.2.3');
  const ajv = new Ajv2020({ strict: false });
  addFormats(ajv);
  for (const name of ['HealthResponse', 'StatusResponse', 'StatusSimpleResponse', 'SystemInfoResponse', 'ErrorBody']) {
    expect(doc.components.schemas[name]).toBeDefined();
    expect(() => ajv.compile({ ...doc.components.schemas[name], components: doc.components })).not.toThrow();
  }
});

test('wire validation rejects a percentage over 100 and names the field', () => {
  const r = StatusResponse.safeParse({
    agent_id: 'a', hostname: 'h', timestamp: '2025-09-03T09:06:55.757Z', system: system({ cpu_usage_percent: 101 }), services: [], containers: [], docker: { available: false, error: null },
  });
  expect(r.success).toBe(false);
  expect(r.error!.issues[0]!.path).toEqual(['system', 'cpu_usage_percent']);
});

test('the spec’s nanosecond timestamps with +00:00 offsets are accepted', () => {
  const r = StatusResponse.safeParse({
    agent_id: 'a', hostname: 'h', timestamp: '2025-09-03T09:06:55.757303636+00:00', system: system(), services: [], containers: [], docker: { available: true, error: null },
  });
  expect(r.success).toBe(true);
});
