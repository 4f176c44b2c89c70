import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { TierSchedules } from '../config';
import type { CollectorMetrics } from '../metrics';
import type { Tier } from '../store/polls';

export interface Job {
  name: string;
  schedule: string;
  run(scheduledAt: Date): Promise<unknown>;
}

export interface Scheduler {
  start(): void;
  /** Stops scheduling and waits for the runs in flight. */
  stop(): Promise<void>;
}

/**
 * Runs jobs on cron schedules. A job's run never overlaps itself (a tick
 * still running makes node-cron skip the next), never throws out of the loop,
 * and its lateness against the scheduled time is measured.
 */
export function createScheduler(jobs: readonly Job[], deps: { logger: Logger; metrics?: CollectorMetrics }): Scheduler {
  const { logger, metrics } = deps;
  const tasks: ScheduledTask[] = [];
  const inFlight = new Set<Promise<unknown>>();

  return {
    start() {
      for (const job of jobs) {
        const task = cron.createTask(
          job.schedule,
          async (ctx) => {
            const scheduledAt = ctx.date;
            const late = Math.max(0, Date.now() - scheduledAt.getTime()) / 1000;
            if (isTier(job.name)) metrics?.tickLateness.observe({ tier: job.name }, late);
            const run = job.run(scheduledAt).catch((err) => logger.error({ err, job: job.name }, 'job failed'));
            inFlight.add(run);
            try {
              await run;
            } finally {
              inFlight.delete(run);
            }
          },
          { name: job.name, noOverlap: true },
        );
        task.on('execution:overlap', () => logger.warn({ job: job.name }, 'previous run still going: tick skipped'));
        tasks.push(task);
        task.start();
      }
    },
    async stop() {
      await Promise.all(tasks.map((t) => t.destroy()));
      tasks.length = 0;
      await Promise.all([...inFlight]);
    },
  };
}

export function isTier(name: string): name is Tier {
  return name === 'metrics' || name === 'services' || name === 'inventory';
}

export function tierJobs(schedules: TierSchedules, run: (tier: Tier, scheduledAt: Date) => Promise<unknown>): Job[] {
  return (['metrics', 'services', 'inventory'] as const).map((tier) => ({
    name: tier,
    schedule: schedules[tier],
    run: (at) => run(tier, at),
  }));
}

/** The period of a cron schedule, from its next two runs. */
export function schedulePeriodSeconds(schedule: string): number {
  const task = cron.createTask(schedule, () => undefined);
  try {
    const [a, b] = task.getNextRuns(2);
    return a && b ? (b.getTime() - a.getTime()) / 1000 : 60;
  } finally {
    void task.destroy();
  }
}
