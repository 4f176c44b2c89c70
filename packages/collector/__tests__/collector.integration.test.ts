import Docker from 'dockerode';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createApp as createAgentApp } from '../../agent/src/http/createApp';
import { NO_AUDIT } from '../../agent/src/http/auditSink';
import { openSecurity } from '../../agent/__tests__/helpers';
import { createSampler, type Sampler } from '../../agent/src/sampling/sampler';
import { DEFAULT_SERVICES } from '../../agent/src/sampling/serviceCatalogue';
import { createCollector, type Collector } from '../src/createCollector';
import { BACKENDS, describePg, type TestDb } from '../../../test/testDb';
import { baseConfig, listen } from './helpers';

const silent = pino({ level: 'silent' });

// A real agent (live host sampling) on an ephemeral port, polled over HTTP by
// a real collector writing to a real database, on both store backends.
describe.each(BACKENDS)('collector → %s', (backend, make) => {
  const suite = backend === 'postgres' ? describePg : describe;
  suite('every tier writes the agent’s values', () => {
    let t: TestDb;
    let sampler: Sampler;
    let agent: Awaited<ReturnType<typeof listen>>;
    let collector: Collector;

    beforeAll(async () => {
      t = await make();
      sampler = createSampler({
        config: { agentId: 'live', sampleIntervalMs: 60_000, inventoryIntervalMs: 60_000, diskMount: '/', services: DEFAULT_SERVICES },
        docker: new Docker({ socketPath: '/nonexistent/docker.sock' }),
        logger: silent,
      });
      await sampler.sampleNow();
      agent = await listen(createAgentApp({ sampler, registry: new Registry(), logger: silent, version: '0.1.0', startedAt: new Date(), security: openSecurity(), audit: NO_AUDIT }));
      collector = createCollector({ config: baseConfig({ agents: [{ id: 'live', baseUrl: agent.url, token: null }] }), db: t.db, logger: silent });
      await collector.start({ schedule: false });
    }, 120_000);
    afterAll(async () => {
      await collector?.stop();
      await agent?.close();
      await sampler?.stop();
      await t?.drop();
    });

    test('30 s tier → agent_metrics', async () => {
      const s = sampler.latest()!.status;
      expect(await collector.runTier('metrics')).toMatchObject({ polled: 1, ok: 1, failed: 0, rows: 1 });
      const { rows } = await t.db.query<Record<string, unknown>>('SELECT * FROM agent_metrics WHERE agent_id = $1', ['live']);
      expect(rows).toHaveLength(1);
      const r = rows[0]!;
      expect(new Date(r.ts as string).toISOString()).toBe(s.timestamp);
      expect(r.cpu_usage).toBeCloseTo(s.system.cpu_usage_percent, 2);
      expect(r.memory_usage).toBeCloseTo(s.system.memory_usage_percent, 2);
      expect(r.disk_usage).toBeCloseTo(s.system.disk_usage_percent, 2);
      expect(r.load_average_1m).toBeCloseTo(s.system.load_average.one_minute, 2);
      expect(r.load_average_15m).toBeCloseTo(s.system.load_average.fifteen_minutes, 2);
      expect(Number(r.uptime_seconds)).toBe(s.system.uptime_seconds);
      // Polling the same sample again is harmless: the natural key absorbs it.
      expect(await collector.runTier('metrics')).toMatchObject({ ok: 1, rows: 0 });
    });

    test('5 min tier → service_status (real PIDs)', async () => {
      const s = sampler.latest()!.status;
      await collector.runTier('services');
      const { rows } = await t.db.query<{ service_name: string; status: string; pid: number | null }>(
        'SELECT service_name, status, pid FROM service_status WHERE agent_id = $1 ORDER BY service_name',
        ['live'],
      );
      expect(rows.map((r) => [r.service_name, r.status, r.pid])).toEqual(
        [...s.services].sort((a, b) => a.name.localeCompare(b.name)).map((x) => [x.name, x.status, x.pid]),
      );
      expect(rows.find((r) => r.service_name === 'viworks-agent')?.pid).toBe(process.pid);
    });

    test('1 h tier → system_inventory, disk_usage, network_stats', async () => {
      const sys = sampler.latest()!.system;
      await collector.runTier('inventory');
      const inv = (await t.db.query<Record<string, unknown>>('SELECT * FROM system_inventory WHERE agent_id = $1', ['live'])).rows;
      expect(inv).toHaveLength(1);
      expect(inv[0]).toMatchObject({ hostname: sys.system.hostname, kernel_version: sys.system.kernel_version, cpu_cores: sys.cpu.cores, os_name: sys.system.os_name });
      const disks = (await t.db.query<{ mount: string; size_bytes: string }>('SELECT mount, size_bytes FROM disk_usage WHERE agent_id = $1', ['live'])).rows;
      expect(disks.map((d) => d.mount).sort()).toEqual(sys.disks.map((d) => d.mount).sort());
      expect(Number(disks.find((d) => d.mount === '/')!.size_bytes)).toBe(sys.disks.find((d) => d.mount === '/')!.size_bytes);
      const net = (await t.db.query<{ interface: string; bytes_received: string }>('SELECT interface, bytes_received FROM network_stats WHERE agent_id = $1', ['live'])).rows;
      expect(net.map((n) => n.interface).sort()).toEqual(sys.network.interfaces.slice().sort());
      const lo = sys.network.interface_stats.find((i) => i.name === 'lo')!;
      expect(Number(net.find((n) => n.interface === 'lo')!.bytes_received)).toBe(lo.bytes_received);
    });

    test('every poll is recorded and the agent list shows last-seen', async () => {
      const polls = (await t.db.query<{ tier: string; ok: boolean }>('SELECT tier, ok FROM agent_polls WHERE agent_id = $1', ['live'])).rows;
      expect(polls.length).toBeGreaterThanOrEqual(4);
      expect(polls.every((p) => p.ok)).toBe(true);
      const agents = (await t.db.query<{ last_seen_at: Date | null; hostname: string }>('SELECT last_seen_at, hostname FROM agents WHERE id = $1', ['live'])).rows;
      expect(agents[0]!.last_seen_at).not.toBeNull();
      expect(agents[0]!.hostname).toBe(sampler.latest()!.status.hostname);
    });

    test('collector /metrics counts the polls and rows', async () => {
      const text = await collector.registry.metrics();
      expect(text).toMatch(/viworks_collector_polls_total\{tier="metrics",result="ok"\} 2/);
      expect(text).toMatch(/viworks_collector_rows_written_total\{table="agent_metrics"\} 1/);
      expect(text).toMatch(/viworks_collector_poll_duration_seconds_count\{tier="metrics"\} 2/);
    });
  });
});
