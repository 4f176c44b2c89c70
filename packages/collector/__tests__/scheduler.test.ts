import pino from 'pino';
import { Registry } from 'prom-client';
import { createCollectorMetrics } from '../src/metrics';
import { createScheduler, schedulePeriodSeconds } from '../src/polling/scheduler';

const silent = pino({ level: 'silent' });

test.each([
  ['*/30 * * * * *', 30],
  ['0 */5 * * * *', 300],
  ['0 0 * * * *', 3600],
])('period of %s is %d s', (expr, seconds) => {
  expect(schedulePeriodSeconds(expr)).toBe(seconds);
});

test('a job runs on its schedule, its lateness is measured, and a failing run does not stop the loop', async () => {
  const metrics = createCollectorMetrics(new Registry());
  const runs: Date[] = [];
  let resolveSecond!: () => void;
  const secondRun = new Promise<void>((r) => (resolveSecond = r));
  const scheduler = createScheduler(
    [
      {
        name: 'metrics',
        schedule: '* * * * * *',
        run: async (at) => {
          runs.push(at);
          if (runs.length === 1) throw new Error('first run fails');
          if (runs.length === 2) resolveSecond();
        },
      },
    ],
    { logger: silent, metrics },
  );
  scheduler.start();
  await secondRun;
  await scheduler.stop();
  expect(runs[1]!.getTime() - runs[0]!.getTime()).toBe(1000);
  const lateness = await metrics.tickLateness.get();
  const count = lateness.values.find((v) => v.metricName === 'viworks_collector_tick_lateness_seconds_count');
  expect(count?.value).toBeGreaterThanOrEqual(2);
});

test('stop() waits for the run in flight', async () => {
  let finished = false;
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const scheduler = createScheduler(
    [
      {
        name: 'slow',
        schedule: '* * * * * *',
        run: async () => {
          started();
          await new Promise((r) => setTimeout(r, 300));
          finished = true;
        },
      },
    ],
    { logger: silent },
  );
  scheduler.start();
  await running;
  await scheduler.stop();
  expect(finished).toBe(true);
});
