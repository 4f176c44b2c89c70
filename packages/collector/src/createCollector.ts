import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { createAlertEngine, type AlertEngine } from './alerts/alertEngine';
import { defaultAlertingConfig } from './alerts/alertingConfig';
import type { AgentTarget, CollectorConfig } from './config';
import { AgentHealth } from './fleet/agentHealth';
import { AgentRegistry } from './fleet/agentRegistry';
import { defaultFleetConfig, type FleetConfig } from './fleet/fleetConfig';
import { createFleetMetrics, type FleetMetrics } from './fleet/fleetMetrics';
import { createLeaseManager, type LeaseManager } from './fleet/leaseManager';
import { createWriteQueue, type WriteQueue } from './ingest/writeQueue';
import { setMaxListeners } from 'node:events';
import path from 'node:path';
import { createCollectorMetrics, type CollectorMetrics } from './metrics';
import { createAgentClient, type AgentClient } from './polling/agentClient';
import { pollTier, type TierResult } from './polling/pollTier';
import { createScheduler, schedulePeriodSeconds, tierJobs, type Scheduler } from './polling/scheduler';
import { runPartitionMaintenance, runRetention } from './retention/runRetention';
import { upsertAgents } from './store/agents';
import type { Db } from './store/db';
import { defaultMigrationsDir, migrate, readMigrations } from './store/migrate';
import { applyTimescalePolicies, storageMode, type EnsuredPartitions } from './store/partitions';
import type { RetentionResult } from './store/retention';
import { refreshRollups, type RollupRefresh } from './store/rollups';
import { defaultTimeseriesConfig } from './timeseries/timeseriesConfig';
import type { Tier } from './store/polls';

export interface Collector {
  readonly db: Db;
  readonly registry: Registry;
  readonly metrics: CollectorMetrics;
  /** Migrates, registers the configured agents and (unless told not to) starts the schedules. */
  start(opts?: { schedule?: boolean }): Promise<void>;
  stop(): Promise<void>;
  /** Polls one tier now; `immediate` skips the jitter spread (the start-up poll). */
  runTier(tier: Tier, opts?: { immediate?: boolean }): Promise<TierResult>;
  runRetention(now?: Date): Promise<RetentionResult | null>;
  /** Creates missing daily partitions (today and the days ahead); unclaimed, idempotent. */
  runPartitionMaintenance(now?: Date): Promise<EnsuredPartitions[] | null>;
  /** Recomputes the rollup buckets raw writes invalidated (also run after every tier). */
  refreshRollups(): Promise<RollupRefresh>;
  /** Alert evaluation, notifications and automated responses (evaluated after the metrics and services tiers). */
  readonly alerts: AlertEngine;
  agents(): readonly AgentTarget[];
  /** Fleet scale: health/backoff, leases shared with other collectors, runtime agent registry. */
  readonly fleet: {
    readonly config: FleetConfig;
    readonly health: AgentHealth;
    readonly metrics: FleetMetrics;
    readonly registry: AgentRegistry;
    /** Null unless config.fleet.leases. */
    readonly leases: LeaseManager | null;
    /** Null unless a write queue was given (deps.writeQueue). */
    readonly writeQueue: WriteQueue | null;
  };
}

export interface CollectorDeps {
  config: CollectorConfig;
  db: Db;
  logger: Logger;
  registry?: Registry;
  client?: AgentClient;
  migrationsDir?: string;
  /** The alerting clock (evaluation, incidents, notification timing). */
  now?: () => Date;
  /** Minimum seconds between two claimed evaluations (default: half the tier's period). */
  alertMinIntervalSeconds?: number;
  /** The polling clock, epoch ms (clock skew, backoff, backfill gaps); default Date.now. */
  clock?: () => number;
  /** Bounded write queue with a disk spool (ingest/writeQueue.ts); default: write each tier at once. */
  writeQueue?: WriteQueue;
}

export function createCollector(deps: CollectorDeps): Collector {
  const { config, db, logger } = deps;
  const registry = deps.registry ?? new Registry();
  const metrics = createCollectorMetrics(registry);
  const client = deps.client ?? createAgentClient({ timeoutMs: config.pollTimeoutMs, maxBodyBytes: config.maxBodyBytes });
  const agents = [...config.agents];
  const fleetConfig = config.fleet ?? defaultFleetConfig();
  const fleetMetrics = createFleetMetrics(registry);
  const health = new AgentHealth({ baseMs: fleetConfig.backoffBaseMs, maxMs: fleetConfig.backoffMaxMs });
  const agentRegistry = new AgentRegistry(db, agents, (id) => {
    health.forget(id);
    fleetMetrics.clockSkew.remove({ agent: id });
  });
  const leases = fleetConfig.leases
    ? createLeaseManager({ db, logger, metrics: fleetMetrics, collectorId: fleetConfig.collectorId, heartbeatMs: fleetConfig.heartbeatMs, ttlMs: fleetConfig.leaseTtlMs })
    : null;
  const periodMs = {
    metrics: schedulePeriodSeconds(config.schedules.metrics) * 1000,
    services: schedulePeriodSeconds(config.schedules.services) * 1000,
    inventory: schedulePeriodSeconds(config.schedules.inventory) * 1000,
  };
  const stopping = new AbortController();
  // One abort listener per agent waiting out its jitter phase: thousands, by design.
  setMaxListeners(0, stopping.signal);
  // Configured collectors (loadConfig) spool to disk while PostgreSQL is down; bare ones write directly.
  const writeQueue =
    deps.writeQueue ??
    (config.fleet
      ? createWriteQueue({
          db,
          dir: path.join(config.dataDir, 'spool'),
          maxBytes: fleetConfig.spoolMaxBytes,
          retryMs: fleetConfig.spoolRetryMs,
          logger,
          metrics: { collector: metrics, fleet: fleetMetrics },
        })
      : null);
  let scheduler: Scheduler | null = null;
  const timeseries = config.timeseries ?? defaultTimeseriesConfig(config.retentionDays);
  const alerts = createAlertEngine({
    db,
    logger,
    config: config.alerting ?? defaultAlertingConfig(),
    agents: () => agents,
    client,
    now: deps.now,
    minIntervalSeconds: deps.alertMinIntervalSeconds ?? 0,
  });

  const runTier = async (tier: Tier, opts: { immediate?: boolean } = {}): Promise<TierResult> => {
    const end = metrics.tickDuration.startTimer({ tier });
    try {
      // With leases, this collector polls exactly the agents it holds this tick.
      const targets = leases ? agentRegistry.targetsFor((await leases.rebalance()).owned) : agents;
      const result = await pollTier(
        {
          db,
          client,
          metrics,
          logger,
          concurrency: config.pollConcurrency,
          fleet: {
            // Jitter spreads scheduled ticks; a start-up poll should fill the tables at once.
            config: opts.immediate ? { ...fleetConfig, jitterFraction: 0 } : fleetConfig,
            health,
            metrics: fleetMetrics,
            clock: deps.clock ?? Date.now,
            periodMs,
          },
          write: writeQueue ? (batch) => writeQueue.write(batch) : undefined,
          signal: stopping.signal,
        },
        tier,
        targets,
      );
      logger.debug(result, 'tier done');
      // The tier's raw rows are committed: bring the buckets they touched up to date.
      await refreshRollups(db).catch((err) => logger.error({ err, tier }, 'rollup refresh failed (retried after the next tier)'));
      return result;
    } finally {
      end();
    }
  };

  // After each metrics and services tick: one collector per tick evaluates (job_runs claim per tier).
  const alertIntervals = {
    metrics: deps.alertMinIntervalSeconds ?? schedulePeriodSeconds(config.schedules.metrics) / 2,
    services: deps.alertMinIntervalSeconds ?? schedulePeriodSeconds(config.schedules.services) / 2,
  };
  const runTierThenEvaluate = async (tier: Tier): Promise<TierResult> => {
    const result = await runTier(tier);
    if (tier !== 'inventory') {
      await alerts.evaluate({ job: `alerts.${tier}`, minIntervalSeconds: alertIntervals[tier] }).catch((err) => logger.error({ err, tier }, 'alert evaluation failed'));
    }
    return result;
  };

  const retention = (now?: Date) =>
    runRetention(
      { db, logger },
      {
        policy: timeseries.retention,
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
    fleet: { config: fleetConfig, health, metrics: fleetMetrics, registry: agentRegistry, leases, writeQueue },
    alerts,
    runTier,
    runRetention: retention,
    runPartitionMaintenance: (now?: Date) =>
      runPartitionMaintenance({ db, logger }, { aheadDays: timeseries.partitionsAheadDays, minIntervalSeconds: null, now }),
    refreshRollups: () => refreshRollups(db),
    async start(opts = {}) {
      const { applied } = await migrate(db, readMigrations(deps.migrationsDir ?? defaultMigrationsDir()));
      if (applied.length) logger.info({ applied }, 'migrations applied');
      await upsertAgents(db, agents);
      leases?.startHeartbeat();
      // Before the first poll: today's partition and the days ahead exist.
      await runPartitionMaintenance({ db, logger }, { aheadDays: timeseries.partitionsAheadDays, minIntervalSeconds: null });
      if ((await storageMode(db)) === 'timescaledb') {
        await applyTimescalePolicies(db, timeseries.retention, timeseries.compressAfterDays);
      }
      if (opts.schedule === false) return;
      scheduler = createScheduler(
        [
          ...tierJobs(config.schedules, (tier) => runTierThenEvaluate(tier)),
          { name: 'retention', schedule: config.retentionSchedule, run: () => retention() },
          {
            name: 'partitions',
            schedule: timeseries.partitionSchedule,
            run: () =>
              runPartitionMaintenance(
                { db, logger },
                { aheadDays: timeseries.partitionsAheadDays, minIntervalSeconds: schedulePeriodSeconds(timeseries.partitionSchedule) / 2 },
              ),
          },
        ],
        { logger, metrics },
      );
      scheduler.start();
      alerts.start();
      if (config.pollOnStart) {
        // Fill every table at once instead of waiting up to an hour for the inventory tier.
        for (const tier of ['metrics', 'services', 'inventory'] as const) {
          runTier(tier, { immediate: true }).catch((err) => logger.error({ err, tier }, 'initial poll failed'));
        }
      }
    },
    async stop() {
      stopping.abort();
      await scheduler?.stop();
      await leases?.stop();
      await writeQueue?.close();
      scheduler = null;
      await alerts.stop();
      await client.close();
    },
  };
}
