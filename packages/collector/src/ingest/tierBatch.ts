import type { HealthUpdate } from '../fleet/agentHealth';
import { updateAgentHealth } from '../store/agentRegistry';
import { syncContainerSessions, type ContainerRow } from '../store/containerSessions';
import type { Queryable } from '../store/db';
import { insertDiskUsage, insertInventory, insertNetworkStats, type DiskRow, type InventoryRow, type NetworkRow } from '../store/inventory';
import { insertMetrics, type MetricRow } from '../store/metrics';
import { recordPolls, type PollRecord, type Tier } from '../store/polls';
import { insertServiceStatus, type ServiceRow } from '../store/services';

/**
 * Everything one tier tick produced, as plain data: it can wait in the write
 * queue, be spooled to disk as JSON while the database is down, and be
 * replayed later. Replays are harmless: every insert has a natural key.
 */
export interface TierBatch {
  tier: Tier;
  /** When the tick started (epoch ms): spooled batches drain in this order. */
  at: number;
  metrics: MetricRow[];
  services: ServiceRow[];
  /** Agents whose Docker engine answered (only they can say a container is gone). */
  dockerAgents: Array<{ agentId: string; ts: string }>;
  containers: ContainerRow[];
  inventory: InventoryRow[];
  disks: DiskRow[];
  network: NetworkRow[];
  polls: PollRecord[];
  health: HealthUpdate[];
}

export const emptyBatch = (tier: Tier, at: number): TierBatch => ({
  tier,
  at,
  metrics: [],
  services: [],
  dockerAgents: [],
  containers: [],
  inventory: [],
  disks: [],
  network: [],
  polls: [],
  health: [],
});

export interface BatchCounts {
  [table: string]: number;
}

/** Writes one batch (call inside a transaction). Returns rows written per table. */
export async function writeTierBatch(q: Queryable, b: TierBatch): Promise<BatchCounts> {
  const counts: BatchCounts = {};
  if (b.tier === 'metrics') counts.agent_metrics = await insertMetrics(q, b.metrics);
  if (b.tier === 'services') {
    counts.service_status = await insertServiceStatus(q, b.services);
    await syncContainerSessions(q, b.dockerAgents, b.containers);
    counts.container_sessions = b.containers.length;
  }
  if (b.tier === 'inventory') {
    await insertInventory(q, b.inventory);
    await insertDiskUsage(q, b.disks);
    await insertNetworkStats(q, b.network);
    counts.system_inventory = b.inventory.length;
    counts.disk_usage = b.disks.length;
    counts.network_stats = b.network.length;
  }
  await recordPolls(q, b.polls);
  await updateAgentHealth(q, b.health);
  return counts;
}

/** JSON → batch: Dates were strings on disk. */
export function reviveBatch(raw: TierBatch): TierBatch {
  return {
    ...raw,
    polls: raw.polls.map((p) => ({ ...p, startedAt: new Date(p.startedAt) })),
    health: raw.health.map((h) => ({ ...h, nextAttemptAt: h.nextAttemptAt === null ? null : new Date(h.nextAttemptAt) })),
  };
}
