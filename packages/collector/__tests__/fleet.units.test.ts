import { isUnreachable } from '../src/store/db';
import { backoffDelayMs, phaseOffsetMs } from '../src/fleet/backoff';
import { downsample } from '../src/polling/backfill';
import { checkSampleTime } from '../src/polling/clockSkew';
import { PollError } from '../src/polling/agentClient';
import { loadConfig } from '../src/config';

const policy = { baseMs: 10_000, maxMs: 300_000 };

describe('backoffDelayMs', () => {
  test.each([
    [0, 0.5, 0],
    [1, 0, 5_000],
    [1, 1, 10_000],
    [2, 0, 10_000],
    [3, 1, 40_000],
    [6, 1, 300_000], // 320 s nominal, capped
    [50, 0, 150_000], // capped, half fixed
    [50, 1, 300_000],
  ])('after %i failures with random %f → %i ms', (failures, r, expected) => {
    expect(backoffDelayMs(failures, policy, () => r)).toBe(expected);
  });
});

test('phaseOffsetMs is stable per agent, within the spread, and spreads agents', () => {
  const ids = Array.from({ length: 1000 }, (_, i) => `sim-${i}`);
  const offsets = ids.map((id) => phaseOffsetMs(id, 15_000));
  expect(offsets.every((o) => o >= 0 && o < 15_000)).toBe(true);
  expect(phaseOffsetMs('sim-1', 15_000)).toBe(offsets[1]);
  const buckets = new Array(5).fill(0);
  for (const o of offsets) buckets[Math.floor(o / 3000)]++;
  for (const b of buckets) expect(b).toBeGreaterThan(120); // roughly uniform: 200 each
  expect(phaseOffsetMs('x', 0)).toBe(0);
});

describe('checkSampleTime', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');
  const bounds = { maxFutureSkewMs: 300_000, maxSampleAgeMs: 6 * 3_600_000 };
  test.each([
    ['2025-06-01T12:00:00Z', 0],
    ['2025-06-01T11:59:55Z', -5000],
    ['2025-06-01T12:04:59Z', 299_000],
  ])('%s is accepted with skew %i', (ts, skew) => expect(checkSampleTime(ts, now, bounds)).toBe(skew));
  test.each([
    ['2025-06-02T12:00:00Z', /86400 s ahead/],
    ['2025-06-01T05:59:00Z', /21660 s behind/],
  ])('%s is rejected as clock_skew', (ts, message) => {
    let err: unknown;
    try {
      checkSampleTime(ts, now, bounds);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PollError);
    expect(err).toMatchObject({ code: 'clock_skew', message: expect.stringMatching(message) });
  });
});

test('downsample keeps one sample per period bucket strictly inside the gap', () => {
  const t0 = Date.parse('2025-06-01T12:00:00Z');
  const samples = Array.from({ length: 40 }, (_, i) => ({ timestamp: new Date(t0 + i * 5000).toISOString() }));
  // Stored sample at 12:00:00, live sample at 12:03:00: buckets 12:00:30 … 12:02:30 are missing.
  const kept = downsample(samples, { from: t0, to: t0 + 180_000 }, 30_000).map((s) => s.timestamp.slice(11, 19));
  expect(kept).toEqual(['12:00:30', '12:01:00', '12:01:30', '12:02:00', '12:02:30']);
});

describe('fleet configuration', () => {
  test('defaults', () => {
    expect(loadConfig({}).fleet).toMatchObject({ leases: true, heartbeatMs: 5000, leaseTtlMs: 15_000, backoffBaseMs: 10_000, backoffMaxMs: 300_000, jitterFraction: 0.5, backfill: true });
  });
  test.each([
    [{ COLLECTOR_POLL_JITTER: '2' }, /COLLECTOR_POLL_JITTER: must be between 0 and 0.9/],
    [{ COLLECTOR_LEASES: 'maybe' }, /COLLECTOR_LEASES/],
    [{ COLLECTOR_HEARTBEAT_MS: '10000', COLLECTOR_LEASE_TTL_MS: '15000' }, /COLLECTOR_LEASE_TTL_MS: must be at least twice/],
    [{ COLLECTOR_ID: 'has space' }, /COLLECTOR_ID/],
  ])('%o is refused naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('isUnreachable: which database errors mean "spool and retry"', () => {
  test.each([
    [{ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' }, true],
    [{ code: '57P01', message: 'terminating connection due to administrator command' }, true],
    [{ code: '08006', message: 'connection failure' }, true],
    [new Error('Connection terminated unexpectedly'), true],
    [new Error('timeout exceeded when trying to connect'), true], // pg-pool: every client stuck
    [{ code: '23505', message: 'duplicate key value violates unique constraint' }, false],
    [{ code: '22P02', message: 'invalid input syntax for type bigint' }, false],
    [new Error('something else'), false],
  ])('%j → %s', (err, expected) => {
    expect(isUnreachable(err)).toBe(expected);
  });
});
