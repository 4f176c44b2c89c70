import { insertMetrics, selectMetrics, type MetricRow } from '../src/store/metrics';
import { insertServiceStatus, selectLatestServices } from '../src/store/services';
import { syncContainerSessions, type ContainerRow } from '../src/store/containerSessions';
import { upsertAgents, listAgents } from '../src/store/agents';
import { recordPolls } from '../src/store/polls';
import { BACKENDS, describePg, type TestDb } from '../../../test/testDb';

const metric = (agentId: string, ts: string, cpu = 10): MetricRow => ({
  agentId,
  ts,
  cpuUsage: cpu,
  memoryUsage: 20.5,
  diskUsage: 30.25,
  load1: 0.5,
  load5: 0.25,
  load15: 0.125,
  uptimeSeconds: 4111,
  temperature: null,
});

const container = (over: Partial<ContainerRow>): ContainerRow => ({
  agentId: 'a1',
  ts: '2025-09-03T09:00:00.000Z',
  containerId: 'c1',
  name: 'session-alice',
  image: 'busybox:test',
  username: 'alice',
  sessionId: 's-1',
  port: 20001,
  status: 'running',
  managed: true,
  createdAt: '2025-09-03T08:59:00.000Z',
  ...over,
});

describe.each(BACKENDS)('store on %s', (backend, make) => {
  const suite = backend === 'postgres' ? describePg : describe;
  suite('writes and reads', () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await make();
    });
    afterAll(async () => {
      await t?.drop();
    });

    test('a batch of metrics is written in one call and a retried batch adds nothing', async () => {
      const rows = [metric('m1', '2025-09-03T09:00:00.000Z', 1), metric('m1', '2025-09-03T09:00:30.000Z', 2), metric('m2', '2025-09-03T09:00:00.000Z', 3)];
      expect(await insertMetrics(t.db, rows)).toBe(3);
      expect(await insertMetrics(t.db, rows)).toBe(0);
      const points = await selectMetrics(t.db, 'm1', new Date('2025-09-03T00:00:00Z'), new Date('2025-09-04T00:00:00Z'), 100);
      expect(points.map((p) => [new Date(p.ts).toISOString(), p.cpu_usage, Number(p.uptime_seconds), p.temperature])).toEqual([
        ['2025-09-03T09:00:00.000Z', 1, 4111, null],
        ['2025-09-03T09:00:30.000Z', 2, 4111, null],
      ]);
      expect(points[0]!.disk_usage).toBeCloseTo(30.25, 5);
    });

    test('latest service state per service', async () => {
      await insertServiceStatus(t.db, [
        { agentId: 's1', ts: '2025-09-03T09:00:00Z', name: 'nginx', status: 'running', pid: 10, cpuPercent: 1.5, memoryBytes: 1000 },
        { agentId: 's1', ts: '2025-09-03T09:05:00Z', name: 'nginx', status: 'stopped', pid: null, cpuPercent: null, memoryBytes: null },
        { agentId: 's1', ts: '2025-09-03T09:05:00Z', name: 'sshd', status: 'running', pid: 22, cpuPercent: 0, memoryBytes: 5_000_000_000 },
      ]);
      const latest = await selectLatestServices(t.db, 's1');
      expect(latest.map((r) => [r.service_name, r.status, r.pid, r.memory_bytes === null ? null : Number(r.memory_bytes)])).toEqual([
        ['nginx', 'stopped', null, null],
        ['sshd', 'running', 22, 5_000_000_000],
      ]);
    });

    test('container sessions: stopped_at is set once, cleared on restart, set when the container disappears', async () => {
      const t0 = '2025-09-03T09:00:00.000Z';
      const t1 = '2025-09-03T09:05:00.000Z';
      const t2 = '2025-09-03T09:10:00.000Z';
      const t3 = '2025-09-03T09:15:00.000Z';
      const t4 = '2025-09-03T09:20:00.000Z';
      const read = async () =>
        (await t.db.query<{ status: string; stopped_at: Date | null; first_seen_at: Date; last_seen_at: Date }>(
          `SELECT status, stopped_at, first_seen_at, last_seen_at FROM container_sessions WHERE agent_id = 'a1' AND container_id = 'c1'`,
        )).rows.map((r) => ({
          status: r.status,
          stopped_at: r.stopped_at && new Date(r.stopped_at).toISOString(),
          first: new Date(r.first_seen_at).toISOString(),
          last: new Date(r.last_seen_at).toISOString(),
        }));
      await syncContainerSessions(t.db, [{ agentId: 'a1', ts: t0 }], [container({ ts: t0 })]);
      expect(await read()).toEqual([{ status: 'running', stopped_at: null, first: t0, last: t0 }]);
      await syncContainerSessions(t.db, [{ agentId: 'a1', ts: t1 }], [container({ ts: t1, status: 'exited' })]);
      await syncContainerSessions(t.db, [{ agentId: 'a1', ts: t2 }], [container({ ts: t2, status: 'exited' })]);
      expect(await read()).toEqual([{ status: 'exited', stopped_at: t1, first: t0, last: t2 }]);
      await syncContainerSessions(t.db, [{ agentId: 'a1', ts: t3 }], [container({ ts: t3, status: 'running' })]);
      expect((await read())[0]!.stopped_at).toBeNull();
      // Gone from the agent's list: closed at the poll that noticed.
      await syncContainerSessions(t.db, [{ agentId: 'a1', ts: t4 }], []);
      expect(await read()).toEqual([{ status: 'removed', stopped_at: t4, first: t0, last: t3 }]);
      // Another agent's poll never closes a1's sessions.
      await syncContainerSessions(t.db, [{ agentId: 'a2', ts: t4 }], [container({ agentId: 'a2', containerId: 'c9' })]);
      expect((await read())[0]!.status).toBe('removed');
    });

    test('agents: registered once, poll results and latest metrics listed', async () => {
      await upsertAgents(t.db, [{ id: 'ag1', baseUrl: 'http://127.0.0.1:1', token: null }]);
      await upsertAgents(t.db, [{ id: 'ag1', baseUrl: 'http://127.0.0.1:2', token: null }]);
      await insertMetrics(t.db, [metric('ag1', '2025-09-03T09:00:00.000Z', 42)]);
      await recordPolls(t.db, [
        { agentId: 'ag1', tier: 'metrics', startedAt: new Date('2025-09-03T09:00:01Z'), durationMs: 3, ok: true, errorCode: null, errorMessage: null, hostname: 'web-1' },
      ]);
      await recordPolls(t.db, [
        { agentId: 'ag1', tier: 'metrics', startedAt: new Date('2025-09-03T09:00:31Z'), durationMs: 5000, ok: false, errorCode: 'timeout', errorMessage: 'the agent did not answer in time', hostname: null },
      ]);
      const ag = (await listAgents(t.db)).find((a) => a.id === 'ag1')!;
      expect(ag).toMatchObject({
        baseUrl: 'http://127.0.0.1:2',
        hostname: 'web-1',
        lastSeenAt: '2025-09-03T09:00:01.000Z',
        lastPoll: { at: '2025-09-03T09:00:31.000Z', tier: 'metrics', ok: false, error: 'timeout: the agent did not answer in time' },
        latest: { ts: '2025-09-03T09:00:00.000Z', cpuUsage: 42 },
      });
    });
  });
});
