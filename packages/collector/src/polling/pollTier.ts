import pMap from 'p-map';
import type { Logger } from 'pino';
import { StatusResponse, SystemInfoResponse } from '@viworks/protocol';
import type { AgentTarget } from '../config';
import type { CollectorMetrics } from '../metrics';
import type { Db, Queryable } from '../store/db';
import { syncContainerSessions, type ContainerRow } from '../store/containerSessions';
import { insertDiskUsage, insertInventory, insertNetworkStats } from '../store/inventory';
import { insertMetrics } from '../store/metrics';
import { recordPolls, type PollRecord, type Tier } from '../store/polls';
import { insertServiceStatus } from '../store/services';
import { PollError, type AgentClient } from './agentClient';
import { containerRows, inventoryRows, metricRow, serviceRows } from './toRows';

export interface TierDeps {
  db: Db;
  client: AgentClient;
  metrics: CollectorMetrics;
  logger: Logger;
  concurrency: number;
  now?: () => Date;
}

export interface TierResult {
  tier: Tier;
  polled: number;
  ok: number;
  failed: number;
  rows: number;
}

type Fetched<T> = { agent: AgentTarget; record: PollRecord; body: T | null };

async function fetchAll<T>(
  deps: TierDeps,
  tier: Tier,
  agents: readonly AgentTarget[],
  fetch: (agent: AgentTarget) => Promise<T>,
  hostnameOf: (body: T) => string,
): Promise<Fetched<T>[]> {
  const now = deps.now ?? (() => new Date());
  return pMap(
    agents,
    async (agent) => {
      const startedAt = now();
      const t0 = performance.now();
      let body: T | null = null;
      let errorCode: string | null = null;
      let errorMessage: string | null = null;
      try {
        body = await fetch(agent);
      } catch (err) {
        if (err instanceof PollError) {
          errorCode = err.code;
          errorMessage = err.message;
        } else {
          errorCode = 'internal';
          errorMessage = (err as Error).message;
          deps.logger.error({ err, agent: agent.id, tier }, 'unexpected poll error');
        }
      }
      const durationMs = performance.now() - t0;
      deps.metrics.pollDuration.observe({ tier }, durationMs / 1000);
      deps.metrics.polls.inc({ tier, result: errorCode ?? 'ok' });
      if (errorCode) deps.logger.warn({ agent: agent.id, tier, code: errorCode, reason: errorMessage }, 'poll failed');
      return {
        agent,
        body,
        record: {
          agentId: agent.id,
          tier,
          startedAt,
          durationMs,
          ok: body !== null,
          errorCode,
          errorMessage,
          hostname: body !== null ? hostnameOf(body) : null,
        },
      };
    },
    { concurrency: deps.concurrency },
  );
}

/**
 * Polls every agent for one tier, then writes everything the tier produced in
 * one transaction: data rows of the agents that answered with a valid body,
 * and a poll record for every agent. A failed poll writes no data rows.
 */
export async function pollTier(deps: TierDeps, tier: Tier, agents: readonly AgentTarget[]): Promise<TierResult> {
  const { db, client, metrics } = deps;
  let rows = 0;
  let records: PollRecord[];
  let write: (q: Queryable) => Promise<void>;

  const count = (table: string, n: number) => {
    metrics.rowsWritten.inc({ table }, n);
    rows += n;
  };

  if (tier === 'inventory') {
    const fetched = await fetchAll(deps, tier, agents, (a) => client.get(a, '/api/v1/system', SystemInfoResponse), (b) => b.system.hostname);
    records = fetched.map((f) => f.record);
    const mapped = fetched.filter((f) => f.body).map((f) => inventoryRows(f.agent.id, f.body!));
    write = async (q) => {
      await insertInventory(q, mapped.map((m) => m.inventory));
      await insertDiskUsage(q, mapped.flatMap((m) => m.disks));
      await insertNetworkStats(q, mapped.flatMap((m) => m.network));
      count('system_inventory', mapped.length);
      count('disk_usage', mapped.reduce((s, m) => s + m.disks.length, 0));
      count('network_stats', mapped.reduce((s, m) => s + m.network.length, 0));
    };
  } else {
    const fetched = await fetchAll(deps, tier, agents, (a) => client.get(a, '/api/v1/status', StatusResponse), (b) => b.hostname);
    records = fetched.map((f) => f.record);
    const answered = fetched.filter((f) => f.body);
    if (tier === 'metrics') {
      const metricRows = answered.map((f) => metricRow(f.agent.id, f.body!));
      write = async (q) => count('agent_metrics', await insertMetrics(q, metricRows));
    } else {
      const svc = answered.flatMap((f) => serviceRows(f.agent.id, f.body!));
      // Only agents whose Docker engine answered can say a container is gone.
      const withDocker = answered.filter((f) => f.body!.docker.available);
      const containers: ContainerRow[] = withDocker.flatMap((f) => containerRows(f.agent.id, f.body!));
      write = async (q) => {
        count('service_status', await insertServiceStatus(q, svc));
        await syncContainerSessions(
          q,
          withDocker.map((f) => ({ agentId: f.agent.id, ts: f.body!.timestamp })),
          containers,
        );
        count('container_sessions', containers.length);
      };
    }
  }

  try {
    await db.transaction(async (q) => {
      await write(q);
      await recordPolls(q, records);
    });
  } catch (err) {
    metrics.writeFailures.inc({ tier });
    throw new Error(`writing the ${tier} tier failed`, { cause: err });
  }
  const ok = records.filter((r) => r.ok).length;
  return { tier, polled: records.length, ok, failed: records.length - ok, rows };
}
