import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { AgentTarget, CollectorConfig } from './config';
import { createCollectorMetrics, type CollectorMetrics } from './metrics';
import { createAgentClient, type AgentClient } from './polling/agentClient';
import { pollTier, type TierResult } from './polling/pollTier';
import { createScheduler, schedulePeriodSeconds, tierJobs, type Scheduler } from './polling/scheduler';
import { runRetention } from './retention/runRetention';
import { upsertAgents } from './store/agents';
import type { Db } from './store/db';
import { defaultMigrationsDir, migrate, readMigrations } from './store/migrate';
import type { PrunedCounts } from './store/retention';
import type { Tier } from './store/polls';

export interface Collector {
  readonly db: Db;
  readonly registry: Registry;
  readonly metrics: CollectorMetrics;
  /** Migrates, registers the configured agents and (unless told not to) starts the schedules. */
  start(opts?: { schedule?: boolean }): Promise<void>;
  stop(): Promise<void>;
  runTier(tier: Tier): Promise<TierResult>;
  runRetention(now?: Date): Promise<PrunedCounts | null>;
  agents(): readonly AgentTarget[];
}

export interface CollectorDeps {
  config: CollectorConfig;
  db: Db;
  logger: Logger;
  registry?: Registry;
  client?: AgentClient;
  migrationsDir?: string;
}

export function createCollector(deps: CollectorDeps): Collector {
  const { config, db, logger } = deps;
  const registry = deps.registry ?? new Registry();
  const metrics = createCollectorMetrics(registry);
  const client = deps.client ?? createAgentClient({ timeoutMs: config.pollTimeoutMs, maxBodyBytes: config.maxBodyBytes });
  const agents = [...config.agents];
  let scheduler: Scheduler | null = null;

  const runTier = async (tier: Tier): Promise<TierResult> => {
    const end = metrics.tickDuration.startTimer({ tier });
    try {
      const result = await pollTier({ db, client, metrics, logger, concurrency: config.pollConcurrency }, tier, agents);
      logger.debug(result, 'tier done');
      return result;
    } finally {
      end();
    }
  };

  const retention = (now?: Date) =>
    runRetention(
      { db, logger },
      {
        retentionDays: config.retentionDays,
        // Half a period: a collector whose clock runs a little early still wins its own tick.
        minIntervalSeconds: schedulePeriodSeconds(config.retentionSchedule) / 2,
        now,
      },
    );

  return {
    db,
    registry,
    metrics,
    agents: () => agents,
    runTier,
    runRetention: retention,
    async start(opts = {}) {
      const { applied } = await migrate(db, readMigrations(deps.migrationsDir ?? defaultMigrationsDir()));
      if (applied.length) logger.info({ applied }, 'migrations applied');
      await upsertAgents(db, agents);
      if (opts.schedule === false) return;
      scheduler = createScheduler(
        [
          ...tierJobs(config.schedules, (tier) => runTier(tier)),
          { name: 'retention', schedule: config.retentionSchedule, run: () => retention() },
        ],
        { logger, metrics },
      );
      scheduler.start();
      if (config.pollOnStart) {
        // Fill every table at once instead of waiting up to an hour for the inventory tier.
        for (const tier of ['metrics', 'services', 'inventory'] as const) {
          runTier(tier).catch((err) => logger.error({ err, tier }, 'initial poll failed'));
        }
      }
    },
    async stop() {
      await scheduler?.stop();
      scheduler = null;
      await client.close();
    },
  };
}
