import pino from 'pino';
import { createCollector } from '../src/createCollector';
import { runPartitionMaintenance, runRetention } from '../src/retention/runRetention';
import { insertMetrics, type MetricRow } from '../src/store/metrics';
import { ensurePartitions, listPartitions, PARTITIONED_TABLES, storageMode } from '../src/store/partitions';
import { recordPolls } from '../src/store/polls';
import { pruneTables } from '../src/store/retention';
import { insertServiceStatus } from '../src/store/services';
import { DEFAULT_RETENTION } from '../src/timeseries/retentionPlan';
import { baseConfig } from './helpers';
import { BACKENDS, describePg, type TestDb } from '../../../test/testDb';

const silent = pino({ level: 'silent' });
const DAY = 86_400_000;
const day0 = Date.parse('2025-09-01T00:00:00Z');
const at = (days: number, ms = 0) => new Date(day0 + days * DAY + ms).toISOString();

const metric = (agentId: string, ts: string): MetricRow => ({
  agentId, ts, cpuUsage: 1, memoryUsage: 1, diskUsage: 1, load1: 0, load5: 0, load15: 0, uptimeSeconds: 1, temperature: null,
});

const names = async (t: TestDb, table: (typeof PARTITIONED_TABLES)[number]) => (await listPartitions(t.db, table)).map((p) => p.name);
const whereRows = async (t: TestDb, table: string) =>
  (await t.db.query<{ part: string; ts: Date }>(`SELECT tableoid::regclass::text AS part, ts FROM ${table} ORDER BY ts`)).rows.map((r) => [
    r.part,
    new Date(r.ts).toISOString(),
  ]);

describe.each(BACKENDS)('daily partitions on %s', (backend, make) => {
  const suite = backend === 'postgres' ? describePg : describe;
  suite('created ahead, dropped whole by retention', () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await make();
    });
    afterAll(async () => t?.drop());

    test('the plain store is partitioned and starts with only a default partition', async () => {
      expect(await storageMode(t.db)).toBe('partitioned');
      for (const table of PARTITIONED_TABLES) expect(await names(t, table)).toEqual([`${table}_default`]);
    });

    test('a starting collector creates today’s partition and the days ahead before it polls', async () => {
      const collector = createCollector({ config: baseConfig(), db: t.db, logger: silent });
      await collector.start({ schedule: false });
      await collector.stop();
      const today = Math.floor(Date.now() / DAY) * DAY;
      for (const table of PARTITIONED_TABLES) {
        expect((await names(t, table)).slice(1)).toEqual(
          Array.from({ length: 8 }, (_, i) => `${table}_p${new Date(today + i * DAY).toISOString().slice(0, 10).replace(/-/g, '')}`),
        );
      }
      // Out of the way of the fixed-clock tests below.
      for (const table of PARTITIONED_TABLES) {
        for (const name of (await names(t, table)).slice(1)) await t.db.query(`DROP TABLE ${name}`);
      }
    });

    test('rows of a day without a partition land in the default partition; creating the partition moves them', async () => {
      await insertMetrics(t.db, [metric('p1', at(0, 3_600_000)), metric('p1', at(1, 60_000)), metric('p1', at(-1))]);
      expect(await whereRows(t, 'agent_metrics')).toEqual([
        ['agent_metrics_default', at(-1)],
        ['agent_metrics_default', at(0, 3_600_000)],
        ['agent_metrics_default', at(1, 60_000)],
      ]);
      const made = await ensurePartitions(t.db, new Date(at(0, 12 * 3_600_000)), 7);
      expect(made.find((m) => m.table === 'agent_metrics')).toEqual({
        table: 'agent_metrics',
        created: ['20250901', '20250902', '20250903', '20250904', '20250905', '20250906', '20250907', '20250908'].map((d) => `agent_metrics_p${d}`),
        movedRows: 2,
      });
      // Past days are never created: the day-before row stays in the default partition.
      expect(await whereRows(t, 'agent_metrics')).toEqual([
        ['agent_metrics_default', at(-1)],
        ['agent_metrics_p20250901', at(0, 3_600_000)],
        ['agent_metrics_p20250902', at(1, 60_000)],
      ]);
    });

    test('partitions exist ahead for every partitioned table, with exact day bounds; a second run creates nothing', async () => {
      for (const table of PARTITIONED_TABLES) {
        const parts = await listPartitions(t.db, table);
        expect(parts[0]).toEqual({ name: `${table}_default`, from: null, to: null });
        expect(parts.slice(1).map((p) => [p.name, p.from!.toISOString(), p.to!.toISOString()])).toEqual(
          Array.from({ length: 8 }, (_, i) => [`${table}_p202509${String(i + 1).padStart(2, '0')}`, at(i), at(i + 1)]),
        );
      }
      const again = await runPartitionMaintenance({ db: t.db, logger: silent }, { aheadDays: 7, minIntervalSeconds: null, now: new Date(at(0, 1)) });
      expect(again!.flatMap((r) => r.created)).toEqual([]);
      // The next day adds exactly one more partition per table.
      const next = await runPartitionMaintenance({ db: t.db, logger: silent }, { aheadDays: 7, minIntervalSeconds: null, now: new Date(at(1, 5)) });
      expect(next!.map((r) => r.created)).toEqual(PARTITIONED_TABLES.map((table) => [`${table}_p20250909`]));
    });

    test('new rows are routed to their day’s partition and the invalidation trigger still fires', async () => {
      await insertServiceStatus(t.db, [{ agentId: 'p1', ts: at(2, 1000), name: 'nginx', status: 'running', pid: 1, cpuPercent: 0, memoryBytes: 1 }]);
      await recordPolls(t.db, [{ agentId: 'p1', tier: 'metrics', startedAt: new Date(at(3, 1000)), durationMs: 1, ok: true, errorCode: null, errorMessage: null, hostname: null }]);
      expect(await whereRows(t, 'service_status')).toEqual([['service_status_p20250903', at(2, 1000)]]);
      expect(await whereRows(t, 'agent_polls')).toEqual([['agent_polls_p20250904', at(3, 1000)]]);
      const { rows } = await t.db.query<{ source: string }>(`SELECT DISTINCT source FROM rollup_invalidations ORDER BY 1`);
      expect(rows.map((r) => r.source)).toEqual(['agent_metrics', 'agent_polls', 'service_status']);
    });

    test('retention drops exactly the partitions wholly past the window, keeps the rest, and deletes old default-partition rows', async () => {
      // One row per day in every partition of agent_metrics.
      await insertMetrics(t.db, Array.from({ length: 9 }, (_, i) => metric('p2', at(i, 43_200_000))));
      // now = day 7 + 6 h, 5 days of raw retention → cutoff day 2 + 6 h:
      // the partitions of days 0 and 1 end before it; day 2's straddles it and stays.
      const now = new Date(at(7, 6 * 3_600_000));
      const result = await runRetention(
        { db: t.db, logger: silent },
        { policy: { ...DEFAULT_RETENTION, rawDays: 5 }, minIntervalSeconds: 60, now },
      );
      expect(result!.agent_metrics).toEqual({
        cutoff: at(2, 6 * 3_600_000),
        rowsDeleted: 1, // the day -1 row in the default partition
        partitionsDropped: ['agent_metrics_p20250901', 'agent_metrics_p20250902'],
        partitionsDeferred: [],
      });
      expect(result!.service_status.partitionsDropped).toEqual(['service_status_p20250901', 'service_status_p20250902']);
      expect(result!.agent_polls.partitionsDropped).toEqual(['agent_polls_p20250901', 'agent_polls_p20250902']);
      expect(await names(t, 'agent_metrics')).toEqual([
        'agent_metrics_default',
        ...['03', '04', '05', '06', '07', '08', '09'].map((d) => `agent_metrics_p202509${d}`),
      ]);
      // Rows of the kept partitions are all there, including day 2's before the cutoff.
      const left = (await whereRows(t, 'agent_metrics')).map(([, ts]) => ts);
      expect(left).toEqual([at(2, 43_200_000), at(3, 43_200_000), at(4, 43_200_000), at(5, 43_200_000), at(6, 43_200_000), at(7, 43_200_000), at(8, 43_200_000)]);
      // A second pass the same day finds nothing more to drop.
      const again = await pruneTables(t.db, now, { ...DEFAULT_RETENTION, rawDays: 5 });
      expect(again.agent_metrics).toMatchObject({ rowsDeleted: 0, partitionsDropped: [] });
    });

    test('under TimescaleDB the hypertables and aggregates are left to its policies and no partitions are made', async () => {
      await t.db.query(`UPDATE timeseries_storage SET mode = 'timescaledb'`);
      try {
        expect(await ensurePartitions(t.db, new Date(at(30)), 7)).toEqual([]);
        const result = await pruneTables(t.db, new Date(at(60)), DEFAULT_RETENTION);
        expect(result.agent_metrics).toMatchObject({ skipped: 'pruned by its TimescaleDB retention policy', partitionsDropped: [] });
        expect(result.agent_metrics_1h.skipped).toBeDefined();
        expect(result.system_inventory.skipped).toBeUndefined();
        expect((await names(t, 'agent_metrics')).length).toBe(8);
      } finally {
        await t.db.query(`UPDATE timeseries_storage SET mode = 'partitioned'`);
      }
    });
  });
});
