import type { Logger } from 'pino';
import { StatusResponse, SystemInfoResponse } from '@viworks/protocol';
import type { AgentTarget } from '../config';
import type { AgentHealth, HealthUpdate } from '../fleet/agentHealth';
import { phaseOffsetMs } from '../fleet/backoff';
import type { FleetConfig } from '../fleet/fleetConfig';
import type { FleetMetrics } from '../fleet/fleetMetrics';
import { emptyBatch, writeTierBatch, type BatchCounts, type TierBatch } from '../ingest/tierBatch';
import type { CollectorMetrics } from '../metrics';
import { selectLastMetricTs } from '../store/agentRegistry';
import type { Db } from '../store/db';
import type { PollRecord, Tier } from '../store/polls';
import { PollError, type AgentClient } from './agentClient';
import { backfillGap, type Gap } from './backfill';
import { checkSampleTime } from './clockSkew';
import { containerRows, inventoryRows, metricRow, serviceRows } from './toRows';

export interface FleetPolling {
  config: FleetConfig;
  health: AgentHealth;
  metrics: FleetMetrics;
  /** The polling clock (epoch ms): skew, backoff, gaps. */
  clock: () => number;
  periodMs: Record<Tier, number>;
}

export interface TierDeps {
  db: Db;
  client: AgentClient;
  metrics: CollectorMetrics;
  logger: Logger;
  concurrency: number;
  now?: () => Date;
  fleet: FleetPolling;
  /**
   * Where the tier's batch goes (default: one transaction now). The write
   * queue resolves once the batch is committed or safely spooled.
   */
  write?: (batch: TierBatch) => Promise<BatchCounts | null>;
  /** Aborts the jitter waits (stop). */
  signal?: AbortSignal;
}

export interface TierResult {
  tier: Tier;
  polled: number;
  ok: number;
  failed: number;
  rows: number;
  /** Agents not polled because they are waiting out a backoff. */
  skipped: number;
  backfilled: number;
}

/** Runs fn over items with at most n in flight; each item may wait for its start time without holding a slot. */
async function spread<T>(items: readonly T[], n: number, delayOf: (item: T) => number, fn: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let active = 0;
  const waiting: Array<() => void> = [];
  const slot = () => (active < n ? (active++, Promise.resolve()) : new Promise<void>((r) => waiting.push(r)));
  const free = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  const sleep = (ms: number) =>
    ms <= 0 || signal?.aborted
      ? Promise.resolve()
      : new Promise<void>((r) => {
          const t = setTimeout(done, ms);
          function done() {
            clearTimeout(t);
            signal?.removeEventListener('abort', done);
            r();
          }
          signal?.addEventListener('abort', done, { once: true });
        });
  await Promise.all(
    items.map(async (item) => {
      await sleep(delayOf(item));
      await slot();
      try {
        await fn(item);
      } finally {
        free();
      }
    }),
  );
}

interface AgentOutcome {
  record: PollRecord;
  health: HealthUpdate;
  /** State to apply once the batch is safely written. */
  commit?: () => void;
}

/**
 * Polls every due agent for one tier and hands everything the tier produced
 * to the writer as one batch: data rows of the agents that answered with a
 * valid, sanely-timed body, backfilled history after gaps, a poll record and
 * a health update for every agent polled. A failed poll writes no data rows.
 *
 * Each agent costs at most its own request deadlines (client timeout), and
 * runs in its own slot of `concurrency`, so a misbehaving agent never delays
 * the others. Agents start at a stable phase spread across a fraction of the
 * tier's period (jitter), so a tick is not a thundering herd.
 */
export async function pollTier(deps: TierDeps, tier: Tier, agents: readonly AgentTarget[]): Promise<TierResult> {
  const { db, client, metrics, logger, fleet } = deps;
  const clock = fleet.clock;
  const startedAt = clock();
  const batch = emptyBatch(tier, startedAt);
  const cfg = fleet.config;
  const periodMs = fleet.periodMs[tier];

  const due = agents.filter((a) => fleet.health.due(a.id, startedAt));
  const skipped = agents.length - due.length;
  if (skipped) fleet.metrics.pollsSkipped.inc({ tier, reason: 'backoff' }, skipped);

  // Backfill needs each agent's newest stored sample: known from the last tick, or read once.
  if (tier === 'metrics' && cfg.backfill) {
    const unknown = due.filter((a) => !fleet.health.get(a.id).lastLoaded).map((a) => a.id);
    if (unknown.length) {
      const last = await selectLastMetricTs(db, unknown);
      for (const id of unknown) {
        const s = fleet.health.get(id);
        s.lastLoaded = true;
        s.lastSampleTs = Math.max(s.lastSampleTs ?? -Infinity, last.get(id) ?? -Infinity);
        if (!Number.isFinite(s.lastSampleTs)) s.lastSampleTs = null;
      }
    }
  }

  const outcomes: AgentOutcome[] = [];
  let backfilled = 0;
  const spreadMs = cfg.jitterFraction * periodMs;

  const pollOne = async (agent: AgentTarget): Promise<void> => {
    const polledAt = new Date(clock());
    const t0 = performance.now();
    let skew: number | null = null;
    let error: PollError | null = null;
    let hostname: string | null = null;
    let commit: (() => void) | undefined;
    try {
      const path = tier === 'inventory' ? '/api/v1/system' : '/api/v1/status';
      const schema = tier === 'inventory' ? SystemInfoResponse : StatusResponse;
      const c0 = clock();
      const body = (await client.get(agent, path, schema)) as StatusResponse | SystemInfoResponse;
      const c1 = clock();
      try {
        skew = checkSampleTime(body.timestamp, (c0 + c1) / 2, cfg);
      } catch (err) {
        skew = (err as { skew?: number }).skew ?? null;
        throw err;
      }
      if (tier === 'inventory') {
        const b = body as SystemInfoResponse;
        const m = inventoryRows(agent.id, b);
        hostname = b.system.hostname;
        batch.inventory.push(m.inventory);
        batch.disks.push(...m.disks);
        batch.network.push(...m.network);
      } else {
        const b = body as StatusResponse;
        hostname = b.hostname;
        if (tier === 'services') {
          batch.services.push(...serviceRows(agent.id, b));
          if (b.docker.available) {
            batch.dockerAgents.push({ agentId: agent.id, ts: b.timestamp });
            batch.containers.push(...containerRows(agent.id, b));
          }
        } else {
          batch.metrics.push(metricRow(agent.id, b));
          commit = await gapsOf(agent, Date.parse(b.timestamp), c1);
        }
      }
    } catch (err) {
      if (err instanceof PollError) error = err;
      else {
        error = new PollError('network', (err as Error).message, { cause: err });
        logger.error({ err, agent: agent.id, tier }, 'unexpected poll error');
      }
    }
    const durationMs = performance.now() - t0;
    metrics.pollDuration.observe({ tier }, durationMs / 1000);
    metrics.polls.inc({ tier, result: error?.code ?? 'ok' });
    if (skew !== null) fleet.metrics.clockSkew.set({ agent: agent.id }, skew / 1000);
    let health: HealthUpdate;
    if (error) {
      logger.warn({ agent: agent.id, tier, code: error.code, reason: error.message }, 'poll failed');
      health = fleet.health.failed(agent.id, `${error.code}: ${error.message}`, clock(), skew);
    } else {
      health = fleet.health.succeeded(agent.id, skew);
    }
    outcomes.push({
      health,
      commit,
      record: {
        agentId: agent.id,
        tier,
        startedAt: polledAt,
        durationMs,
        ok: error === null,
        errorCode: error?.code ?? null,
        errorMessage: error?.message ?? null,
        hostname,
        clockSkewMs: skew,
      },
    });
  };

  /**
   * After a live metrics sample at `ts`: fetches what is missing since the
   * agent's previous stored sample. Returns what to remember once written.
   */
  const gapsOf = async (agent: AgentTarget, ts: number, now: number): Promise<() => void> => {
    const state = fleet.health.get(agent.id);
    const gaps: Gap[] = [...state.gaps];
    const prev = state.lastSampleTs;
    if (cfg.backfill && prev !== null && ts - prev > 1.5 * periodMs) gaps.push({ from: prev, to: ts });
    const left: Gap[] = [];
    for (const gap of gaps) {
      if (left.length) {
        left.push(gap); // one failure per tick is enough: retried next tick
        continue;
      }
      try {
        const r = await backfillGap(client, agent, gap, { periodMs, maxPages: cfg.backfillMaxPages, maxFutureMs: cfg.maxFutureSkewMs, now });
        batch.metrics.push(...r.rows);
        backfilled += r.rows.length;
        fleet.metrics.backfilledRows.inc(r.rows.length);
        if (r.incomplete) fleet.metrics.backfillIncomplete.inc();
        if (r.remaining) left.push(r.remaining);
      } catch (err) {
        logger.warn({ agent: agent.id, err: (err as Error).message, gap }, 'backfill failed: retried next tick');
        left.push(gap);
      }
    }
    return () => {
      state.lastSampleTs = Math.max(prev ?? ts, ts);
      state.gaps = left.slice(-10);
    };
  };

  await spread(due, deps.concurrency, (a) => phaseOffsetMs(a.id, spreadMs) - (clock() - startedAt), pollOne, deps.signal);

  batch.polls = outcomes.map((o) => o.record);
  batch.health = outcomes.map((o) => o.health);
  fleet.metrics.unreachable.set(fleet.health.unreachableCount());
  let rows =
    batch.metrics.length + batch.services.length + batch.containers.length + batch.inventory.length + batch.disks.length + batch.network.length;

  const write =
    deps.write ??
    (async (b: TierBatch) => {
      const counts = await db.transaction((q) => writeTierBatch(q, b));
      for (const [table, n] of Object.entries(counts)) metrics.rowsWritten.inc({ table }, n);
      return counts;
    });
  try {
    const counts = await write(batch);
    // Rows actually inserted when written now (a replayed sample is not counted twice).
    if (counts) rows = Object.values(counts).reduce((a, n) => a + n, 0);
  } catch (err) {
    metrics.writeFailures.inc({ tier });
    throw new Error(`writing the ${tier} tier failed`, { cause: err });
  }
  for (const o of outcomes) o.commit?.();
  const ok = batch.polls.filter((r) => r.ok).length;
  return { tier, polled: batch.polls.length, ok, failed: batch.polls.length - ok, rows, skipped, backfilled };
}
