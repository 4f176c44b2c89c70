import { COPY_MIN_ROWS, insertMetrics, metricsCopyText, selectMetrics, type MetricRow } from '../src/store/metrics';
import type { Queryable } from '../src/store/db';
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

    /** `count` rows for one agent, 30 s apart from `start`; cpu = index, temperature null on odd rows. */
    const series = (agentId: string, start: string, count: number, from = 0): MetricRow[] =>
      Array.from({ length: count }, (_, k) => {
        const i = from + k;
        return { ...metric(agentId, new Date(Date.parse(start) + i * 30_000).toISOString(), i), temperature: i % 2 ? null : 40 + i / 4 };
      });
    /** Runs fn in a transaction, counting the COPYs the store attempts. */
    const inTx = async <T>(fn: (q: Queryable) => Promise<T>) => {
      let copies = 0;
      const result = await t.db.transaction(async (q) => {
        const counted: Queryable = q.copyFrom ? { ...q, copyFrom: (sql, data) => (copies++, q.copyFrom!(sql, data)) } : q;
        return fn(counted);
      });
      return { result, copies };
    };
    const stored = async (agentId: string) =>
      (await t.db.query<{ ts: Date; cpu_usage: number; temperature: number | null }>(
        `SELECT ts, cpu_usage, temperature FROM agent_metrics WHERE agent_id = $1 ORDER BY ts`,
        [agentId],
      )).rows.map((r) => [new Date(r.ts).toISOString(), r.cpu_usage, r.temperature]);
    const expected = (rows: MetricRow[]) => rows.map((r) => [r.ts, r.cpuUsage, r.temperature]);

    test(`a large batch (>= ${COPY_MIN_ROWS} rows) is written exactly, by COPY on PostgreSQL; odd characters in ids survive`, async () => {
      const id = 'tab\tnew\nline\\back\rslash';
      const rows = series(id, '2025-09-03T10:00:00.000Z', COPY_MIN_ROWS + 37);
      const { result, copies } = await inTx((q) => insertMetrics(q, rows));
      expect(result).toBe(rows.length);
      expect(copies).toBe(backend === 'postgres' ? 1 : 0);
      expect(await stored(id)).toEqual(expected(rows));
    });

    test('a large batch overlapping stored rows falls back to skipping them: only new rows count, the transaction goes on', async () => {
      const first = series('overlap', '2025-09-03T11:00:00.000Z', COPY_MIN_ROWS);
      await inTx((q) => insertMetrics(q, first));
      // Half old, half new, plus a duplicate inside the batch itself.
      const next = series('overlap', '2025-09-03T11:00:00.000Z', COPY_MIN_ROWS, COPY_MIN_ROWS / 2);
      const { result, copies } = await inTx(async (q) => {
        const n = await insertMetrics(q, [...next, next[0]!]);
        // The failed COPY was rolled back to its savepoint, not the whole transaction.
        const { rows } = await q.query<{ one: number }>('SELECT 1 AS one');
        return { n, after: rows[0]!.one };
      });
      expect(result).toEqual({ n: COPY_MIN_ROWS / 2, after: 1 });
      expect(copies).toBe(backend === 'postgres' ? 1 : 0);
      expect(await stored('overlap')).toEqual(expected(series('overlap', '2025-09-03T11:00:00.000Z', COPY_MIN_ROWS * 1.5)));
    });

    test('errors other than duplicates are not swallowed by the fallback', async () => {
      const rows = series('bad', '2025-09-03T12:00:00.000Z', COPY_MIN_ROWS);
      rows[5] = { ...rows[5]!, uptimeSeconds: 1.5 }; // not a bigint
      await expect(inTx((q) => insertMetrics(q, rows))).rejects.toThrow(/bigint/);
      expect(await stored('bad')).toEqual([]);
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

describe('metricsCopyText', () => {
  test('tab-separated, \\N for null, backslash escapes for backslash, tab, newline and carriage return', () => {
    const text = metricsCopyText([{ ...metric('a\\b\tc\nd\re', '2025-09-03T09:00:00.000Z', 1.5), temperature: null }]);
    expect(text).toBe('a\\\\b\\tc\\nd\\re\t2025-09-03T09:00:00.000Z\t1.5\t20.5\t30.25\t0.5\t0.25\t0.125\t4111\t\\N\n');
  });
});
