import { ConfigError, loadConfig } from '../src/config';
import { csvCell, toCsv } from '../src/timeseries/csv';
import { dayStart, partitionName, partitionsToCreate, partitionsToDrop } from '../src/timeseries/partitionWindows';
import { reportWindow, ReportPeriodError } from '../src/timeseries/reportPeriod';
import { DEFAULT_RETENTION, retentionCutoffs, retentionDays } from '../src/timeseries/retentionPlan';
import { alignDown, alignUp, formatDuration, parseDuration } from '../src/timeseries/time';
import { loadTimeseriesConfig } from '../src/timeseries/timeseriesConfig';
import { bucketStarts, fillGaps, METRIC_SOURCES, planTrend, SERVICE_SOURCES, TrendPlanError } from '../src/timeseries/trendPlan';

const t = (s: string) => new Date(s);
const ms = (s: string) => Date.parse(s);

describe('bucket alignment (origin Monday 2000-01-03 UTC, as time_bucket)', () => {
  test.each([
    ['2025-09-03T09:07:31Z', 300, '2025-09-03T09:05:00.000Z', '2025-09-03T09:10:00.000Z'],
    ['2025-09-03T09:05:00Z', 300, '2025-09-03T09:05:00.000Z', '2025-09-03T09:05:00.000Z'],
    ['2025-09-03T09:59:59.999Z', 3600, '2025-09-03T09:00:00.000Z', '2025-09-03T10:00:00.000Z'],
    ['2025-09-03T23:00:00Z', 86_400, '2025-09-03T00:00:00.000Z', '2025-09-04T00:00:00.000Z'],
    // 2025-09-03 is a Wednesday: week buckets start on Monday.
    ['2025-09-03T12:00:00Z', 7 * 86_400, '2025-09-01T00:00:00.000Z', '2025-09-08T00:00:00.000Z'],
    ['1999-12-31T23:59:00Z', 3600, '1999-12-31T23:00:00.000Z', '2000-01-01T00:00:00.000Z'],
  ])('%s at %is → down %s, up %s', (at, step, down, up) => {
    expect(new Date(alignDown(ms(at), step * 1000)).toISOString()).toBe(down);
    expect(new Date(alignUp(ms(at), step * 1000)).toISOString()).toBe(up);
  });

  test.each([
    ['30s', 30], ['30', 30], ['5m', 300], ['1h', 3600], ['7d', 604_800], [' 2m ', 120],
    ['0', null], ['0s', null], ['1.5h', null], ['-5m', null], ['5 m', null], ['1w', null], ['', null], ['12345678', null],
  ])('parseDuration(%j) = %j', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  test.each([[30, '30s'], [90, '90s'], [300, '5m'], [5400, '90m'], [3600, '1h'], [86_400, '1d'], [172_800, '2d']])('formatDuration(%i) = %s', (s, text) => {
    expect(formatDuration(s)).toBe(text);
  });
});

describe('planTrend: step, window and source', () => {
  test.each([
    // from, to, step (null = auto), → step, source table, buckets, p95, aligned from, aligned to
    ['2025-09-03T09:00:00Z', '2025-09-03T10:00:00Z', null, '30s', 'agent_metrics', 120, 'exact', '2025-09-03T09:00:00.000Z', '2025-09-03T10:00:00.000Z'],
    ['2025-09-03T09:00:10Z', '2025-09-03T10:00:10Z', null, '30s', 'agent_metrics', 121, 'exact', '2025-09-03T09:00:00.000Z', '2025-09-03T10:00:30.000Z'],
    ['2025-09-02T10:00:00Z', '2025-09-03T10:00:00Z', null, '5m', 'agent_metrics_5m', 288, 'exact', '2025-09-02T10:00:00.000Z', '2025-09-03T10:00:00.000Z'],
    ['2025-08-27T00:00:00Z', '2025-09-03T00:00:00Z', null, '15m', 'agent_metrics_5m', 672, 'approximate', '2025-08-27T00:00:00.000Z', '2025-09-03T00:00:00.000Z'],
    ['2025-08-04T00:00:00Z', '2025-09-03T00:00:00Z', null, '1h', 'agent_metrics_1h', 720, 'exact', '2025-08-04T00:00:00.000Z', '2025-09-03T00:00:00.000Z'],
    ['2024-09-03T00:00:00Z', '2025-09-03T00:00:00Z', null, '1d', 'agent_metrics_1h', 365, 'approximate', '2024-09-03T00:00:00.000Z', '2025-09-03T00:00:00.000Z'],
    ['2025-09-03T09:00:00Z', '2025-09-03T10:00:00Z', 60, '1m', 'agent_metrics', 60, 'exact', '2025-09-03T09:00:00.000Z', '2025-09-03T10:00:00.000Z'],
    ['2025-09-03T09:00:00Z', '2025-09-03T10:00:00Z', 420, '7m', 'agent_metrics', 10, 'exact', '2025-09-03T08:56:00.000Z', '2025-09-03T10:06:00.000Z'],
    ['2025-09-03T09:00:00Z', '2025-09-03T12:00:00Z', 600, '10m', 'agent_metrics_5m', 18, 'approximate', '2025-09-03T09:00:00.000Z', '2025-09-03T12:00:00.000Z'],
    ['2025-09-03T09:00:00Z', '2025-09-04T09:00:00Z', 7200, '2h', 'agent_metrics_1h', 13, 'approximate', '2025-09-03T08:00:00.000Z', '2025-09-04T10:00:00.000Z'],
    ['2025-09-03T09:00:00Z', '2025-09-03T10:00:00Z', 5400, '90m', 'agent_metrics_5m', 1, 'approximate', '2025-09-03T09:00:00.000Z', '2025-09-03T10:30:00.000Z'],
  ])('%s → %s step %p ⇒ %s from %s, %i buckets, p95 %s', (from, to, step, stepText, table, buckets, p95, alignedFrom, alignedTo) => {
    const p = planTrend({ from: t(from), to: t(to), stepSeconds: step as number | null }, METRIC_SOURCES);
    expect({ step: p.step, table: p.source.table, buckets: p.buckets, p95: p.p95, from: p.from.toISOString(), to: p.to.toISOString() }).toEqual({
      step: stepText, table, buckets, p95, from: alignedFrom, to: alignedTo,
    });
    expect(bucketStarts(p)).toHaveLength(buckets);
    expect(bucketStarts(p)[0]).toBe(p.from.getTime());
    expect(bucketStarts(p).at(-1)! + p.stepSeconds * 1000).toBe(p.to.getTime());
  });

  test.each([
    [3600, 'service_status_1h'],
    [86_400, 'service_status_1h'],
    [300, 'service_status'],
    [5400, 'service_status'],
  ])('services at step %is come from %s', (step, table) => {
    expect(planTrend({ from: t('2025-09-01T00:00:00Z'), to: t('2025-09-02T00:00:00Z'), stepSeconds: step }, SERVICE_SOURCES).source.table).toBe(table);
  });

  test.each([
    ['2025-09-03T10:00:00Z', '2025-09-03T09:00:00Z', 30, 'invalid_range', /^from must be before to$/],
    ['2025-09-03T10:00:00Z', '2025-09-03T10:00:00Z', null, 'invalid_range', /^from must be before to$/],
    ['2025-09-01T00:00:00Z', '2025-09-08T00:00:00Z', 30, 'too_many_points', /^step 30s over this range gives 20160 points; at most 10000 are allowed: use step=5m or larger, or a shorter range$/],
    ['2000-01-03T00:00:00Z', '2300-01-01T00:00:00Z', null, 'too_many_points', /points; at most 10000 are allowed: use a shorter range$/],
  ])('%s → %s step %p is refused: %s', (from, to, step, code, message) => {
    const run = () => planTrend({ from: t(from), to: t(to), stepSeconds: step as number | null }, METRIC_SOURCES);
    expect(run).toThrow(TrendPlanError);
    expect(run).toThrow(message);
    try {
      run();
    } catch (err) {
      expect((err as TrendPlanError).code).toBe(code);
    }
  });

  test('fillGaps: one entry per bucket, rows placed by time, nulls elsewhere', () => {
    const starts = [0, 1000, 2000].map((x) => ms('2025-09-03T00:00:00Z') + x);
    const rows = [{ bucket: new Date(starts[2]!), v: 7 }];
    expect(fillGaps(starts, rows, (r) => r.v, () => null)).toEqual([null, null, 7]);
  });
});

describe('daily partitions', () => {
  test.each([
    ['agent_metrics', '2025-09-03T23:59:59Z', 'agent_metrics_p20250903'],
    ['service_status', '2025-12-31T00:00:00Z', 'service_status_p20251231'],
  ])('partitionName(%s, %s) = %s', (table, at, name) => {
    expect(partitionName(table, dayStart(t(at)))).toBe(name);
  });

  test.each([
    // now, ahead, existing → created
    ['2025-09-03T10:00:00Z', 2, [], ['p20250903', 'p20250904', 'p20250905']],
    ['2025-09-03T00:00:00Z', 2, ['p20250903', 'p20250905'], ['p20250904']],
    ['2025-09-03T23:59:59Z', 1, ['p20250903', 'p20250904'], []],
    // The month and year roll over like any other day.
    ['2025-12-31T12:00:00Z', 1, ['p20251230'], ['p20251231', 'p20260101']],
  ])('at %s with %i days ahead and %j existing, creates %j', (now, ahead, existing, created) => {
    const made = partitionsToCreate('agent_metrics', t(now), ahead, existing.map((e) => `agent_metrics_${e}`));
    expect(made.map((p) => p.name)).toEqual(created.map((c) => `agent_metrics_${c}`));
    for (const p of made) expect(p.to.getTime() - p.from.getTime()).toBe(86_400_000);
  });

  const parts = ['2025-08-01', '2025-08-02', '2025-08-03', '2025-08-04'].map((d) => ({
    name: d,
    from: t(`${d}T00:00:00Z`),
    to: new Date(ms(`${d}T00:00:00Z`) + 86_400_000),
  }));
  test.each([
    ['2025-08-02T00:00:00Z', ['2025-08-01']],
    ['2025-08-02T23:59:59.999Z', ['2025-08-01']],
    ['2025-08-03T00:00:00Z', ['2025-08-01', '2025-08-02']],
    ['2025-07-31T00:00:00Z', []],
    ['2025-08-05T00:00:00Z', ['2025-08-01', '2025-08-02', '2025-08-03', '2025-08-04']],
  ])('cutoff %s drops exactly %j (whole days only)', (cutoff, dropped) => {
    const withDefault = [{ name: 'default', from: null, to: null }, ...parts];
    expect(partitionsToDrop(withDefault, t(cutoff)).map((p) => p.name)).toEqual(dropped);
  });
});

describe('retention policy', () => {
  test.each([
    ['agent_metrics', 30], ['agent_polls', 7], ['system_inventory', 30], ['container_sessions', 30],
    ['agent_metrics_5m', 90], ['agent_metrics_1h', 365], ['service_status_1h', 400], ['agent_polls_1h', 365],
  ])('%s keeps %i days', (table, days) => {
    const policy = { ...DEFAULT_RETENTION, tableDays: { agent_polls: 7, service_status_1h: 400 } };
    expect(retentionDays(policy, table as never)).toBe(days);
  });

  test('cutoffs are now minus each table’s days', () => {
    const cutoffs = retentionCutoffs(t('2025-10-01T00:00:00Z'), DEFAULT_RETENTION);
    expect(Object.fromEntries(cutoffs.map((c) => [c.table, c.cutoff.toISOString()]))).toMatchObject({
      agent_metrics: '2025-09-01T00:00:00.000Z',
      agent_metrics_5m: '2025-07-03T00:00:00.000Z',
      agent_metrics_1h: '2024-10-01T00:00:00.000Z',
    });
  });
});

describe('report periods (UTC; weeks start on Monday)', () => {
  const now = t('2025-09-03T10:00:00Z'); // a Wednesday
  test.each([
    ['day', null, '2025-09-02T00:00:00.000Z', '2025-09-03T00:00:00.000Z'],
    ['week', null, '2025-08-25T00:00:00.000Z', '2025-09-01T00:00:00.000Z'],
    ['month', null, '2025-08-01T00:00:00.000Z', '2025-09-01T00:00:00.000Z'],
    ['day', '2025-09-01T15:00:00Z', '2025-09-01T00:00:00.000Z', '2025-09-02T00:00:00.000Z'],
    ['day', '2025-09-03T00:00:00Z', '2025-09-03T00:00:00.000Z', '2025-09-04T00:00:00.000Z'],
    ['week', '2025-08-31T23:00:00Z', '2025-08-25T00:00:00.000Z', '2025-09-01T00:00:00.000Z'],
    ['month', '2025-02-10T00:00:00Z', '2025-02-01T00:00:00.000Z', '2025-03-01T00:00:00.000Z'],
    ['month', '2024-12-31T23:59:59Z', '2024-12-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z'],
  ])('%s at %p → [%s, %s)', (period, at, from, to) => {
    const w = reportWindow(period as 'day', at === null ? null : t(at), now);
    expect([w.from.toISOString(), w.to.toISOString()]).toEqual([from, to]);
  });

  test.each([
    ['day', '2025-09-04T00:00:00Z'],
    ['week', '2025-09-08T00:00:00Z'],
    ['month', '2025-10-01T00:00:00Z'],
  ])('a %s starting %s has not begun', (period, at) => {
    expect(() => reportWindow(period as 'day', t(at), now)).toThrow(ReportPeriodError);
    expect(() => reportWindow(period as 'day', t(at), now)).toThrow(/has not begun/);
  });
});

describe('CSV', () => {
  test.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['=SUM(A1)', "'=SUM(A1)"],
    ['-1+2', "'-1+2"],
    [-1.5, '-1.5'],
    [null, ''],
    [Number.NaN, ''],
  ])('%j → %s', (v, out) => {
    expect(csvCell(v as string | number | null)).toBe(out);
  });

  test('rows end with CRLF', () => {
    expect(toCsv(['a', 'b'], [[1, 'x']])).toBe('a,b\r\n1,x\r\n');
  });
});

describe('time-series configuration', () => {
  test('defaults: raw 30 days, 5 min rollups 90, 1 h rollups a year, 7 days of partitions ahead, compression after 7 days', () => {
    expect(loadConfig({}).timeseries).toEqual({
      retention: { rawDays: 30, rollup5mDays: 90, rollup1hDays: 365, tableDays: {} },
      partitionsAheadDays: 7,
      partitionSchedule: '0 7 * * * *',
      compressAfterDays: 7,
    });
  });

  test('every setting is read', () => {
    const c = loadTimeseriesConfig(
      {
        COLLECTOR_ROLLUP_5M_RETENTION_DAYS: '60',
        COLLECTOR_ROLLUP_1H_RETENTION_DAYS: '730',
        COLLECTOR_RETENTION_TABLE_DAYS: 'agent_polls=7, service_status_1h=400',
        COLLECTOR_PARTITIONS_AHEAD_DAYS: '3',
        COLLECTOR_PARTITION_SCHEDULE: '0 */10 * * * *',
        COLLECTOR_TIMESCALE_COMPRESS_AFTER_DAYS: '0',
      },
      14,
    );
    expect(c).toEqual({
      retention: { rawDays: 14, rollup5mDays: 60, rollup1hDays: 730, tableDays: { agent_polls: 7, service_status_1h: 400 } },
      partitionsAheadDays: 3,
      partitionSchedule: '0 */10 * * * *',
      compressAfterDays: 0,
    });
    expect(Object.isFrozen(c) && Object.isFrozen(c.retention)).toBe(true);
  });

  test.each([
    [{ COLLECTOR_ROLLUP_5M_RETENTION_DAYS: '0' }, /^invalid COLLECTOR_ROLLUP_5M_RETENTION_DAYS: must be between 1 and 3650$/],
    [{ COLLECTOR_ROLLUP_1H_RETENTION_DAYS: 'a year' }, /^invalid COLLECTOR_ROLLUP_1H_RETENTION_DAYS: must be a whole number$/],
    [{ COLLECTOR_RETENTION_TABLE_DAYS: 'agent_metrics' }, /^invalid COLLECTOR_RETENTION_TABLE_DAYS: "agent_metrics" is not table=days$/],
    [{ COLLECTOR_RETENTION_TABLE_DAYS: 'agents=3' }, /^invalid COLLECTOR_RETENTION_TABLE_DAYS: unknown table "agents"/],
    [{ COLLECTOR_RETENTION_TABLE_DAYS: 'agent_polls=0' }, /^invalid COLLECTOR_RETENTION_TABLE_DAYS: agent_polls: days must be between 1 and 3650$/],
    [{ COLLECTOR_RETENTION_TABLE_DAYS: 'agent_polls=3,agent_polls=4' }, /listed twice/],
    [{ COLLECTOR_PARTITIONS_AHEAD_DAYS: '0' }, /^invalid COLLECTOR_PARTITIONS_AHEAD_DAYS: must be between 1 and 90$/],
    [{ COLLECTOR_PARTITION_SCHEDULE: 'hourly' }, /^invalid COLLECTOR_PARTITION_SCHEDULE: must be a valid cron expression/],
    [{ COLLECTOR_TIMESCALE_COMPRESS_AFTER_DAYS: '-1' }, /^invalid COLLECTOR_TIMESCALE_COMPRESS_AFTER_DAYS: must be a whole number$/],
  ])('%j fails start-up naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
