import pino from 'pino';
import { retentionCutoff, runRetention } from '../src/retention/runRetention';
import { DEFAULT_RETENTION } from '../src/timeseries/retentionPlan';
import { insertMetrics } from '../src/store/metrics';
import { insertServiceStatus } from '../src/store/services';
import { syncContainerSessions } from '../src/store/containerSessions';
import { BACKENDS, describePg, type TestDb } from '../../../test/testDb';

const silent = pino({ level: 'silent' });

test.each([
  ['2025-09-30T00:00:00Z', 30, '2025-08-31T00:00:00.000Z'],
  ['2025-09-30T12:34:56.789Z', 1, '2025-09-29T12:34:56.789Z'],
  ['2025-03-31T00:00:00Z', 7, '2025-03-24T00:00:00.000Z'],
])('cutoff for now=%s, %d days is %s', (now, days, cutoff) => {
  expect(retentionCutoff(new Date(now), days).toISOString()).toBe(cutoff);
});

describe.each(BACKENDS)('retention on %s', (backend, make) => {
  const suite = backend === 'postgres' ? describePg : describe;
  suite('prunes exactly the rows older than the window', () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await make();
    });
    afterAll(async () => t?.drop());

    test('rows at the boundary stay, older ones go, from every table', async () => {
      const now = new Date('2025-10-01T00:00:00.000Z');
      const cutoff = retentionCutoff(now, 30); // 2025-09-01T00:00:00Z
      const at = (ms: number) => new Date(cutoff.getTime() + ms).toISOString();
      const times = [at(-86_400_000), at(-1), at(0), at(1), at(86_400_000)];
      await insertMetrics(
        t.db,
        times.map((ts) => ({ agentId: 'r1', ts, cpuUsage: 1, memoryUsage: 1, diskUsage: 1, load1: 0, load5: 0, load15: 0, uptimeSeconds: 1, temperature: null })),
      );
      await insertServiceStatus(t.db, times.map((ts) => ({ agentId: 'r1', ts, name: 'nginx', status: 'running', pid: 1, cpuPercent: 0, memoryBytes: 1 })));
      // A session closed before the cutoff goes; one still open stays however old.
      const sess = (id: string, status: string) => ({
        agentId: 'r1', ts: at(-2 * 86_400_000), containerId: id, name: id, image: 'i', username: null, sessionId: null, port: null, status, managed: true, createdAt: at(-3 * 86_400_000),
      });
      await syncContainerSessions(t.db, [{ agentId: 'r1', ts: at(-2 * 86_400_000) }], [sess('old-closed', 'exited'), sess('old-open', 'running')]);

      // These rows predate any daily partition, so they sit in the default
      // partition, which retention prunes row by row.
      const counts = await runRetention({ db: t.db, logger: silent }, { policy: { ...DEFAULT_RETENTION, rawDays: 30 }, minIntervalSeconds: 60, now });
      expect(counts).toMatchObject({
        agent_metrics: { rowsDeleted: 2, partitionsDropped: [] },
        service_status: { rowsDeleted: 2, partitionsDropped: [] },
        container_sessions: { rowsDeleted: 1, partitionsDropped: [] },
      });
      const left = (await t.db.query<{ ts: Date }>('SELECT ts FROM agent_metrics ORDER BY ts')).rows.map((r) => new Date(r.ts).toISOString());
      expect(left).toEqual(times.slice(2));
      const svcLeft = (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM service_status')).rows[0]!.n;
      expect(svcLeft).toBe(3);
      const sessions = (await t.db.query<{ container_id: string }>('SELECT container_id FROM container_sessions')).rows.map((r) => r.container_id);
      expect(sessions).toEqual(['old-open']);
    });

    test('a second run within the interval is skipped (one collector wins a tick)', async () => {
      expect(await runRetention({ db: t.db, logger: silent }, { policy: DEFAULT_RETENTION, minIntervalSeconds: 3600 })).toBeNull();
    });
  });
});
