import type Docker from 'dockerode';
import type { ContainerInfo } from '@viworks/protocol';

/** Labels the agent puts on the session containers it creates. */
export const LABELS = {
  managed: 'works.viworks.managed',
  username: 'works.viworks.username',
  sessionId: 'works.viworks.session-id',
  /** The key id or JWT subject that spawned it. */
  createdBy: 'works.viworks.created-by',
  /** AGENT_ID of the agent that owns it: an agent acts only on its own sessions. */
  agentId: 'works.viworks.agent-id',
  /** Host ports held for it ("20001,20002"), so a stopped session keeps its ports. */
  hostPorts: 'works.viworks.host-ports',
} as const;

export interface ContainerSample {
  available: boolean;
  error: string | null;
  containers: ContainerInfo[];
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Docker writes "0001-01-01T00:00:00Z" for a time that never happened. */
const dockerTime = (s: string | undefined): string | null => (!s || s.startsWith('0001-') ? null : new Date(s).toISOString());

/** What `docker ps -a` knows: cheap, one call for all containers. */
function fromListEntry(c: Docker.ContainerInfo): ContainerInfo {
  const labels = c.Labels ?? {};
  return {
    id: c.Id,
    name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''),
    image: c.Image,
    state: c.State,
    status: c.Status,
    created_at: new Date(c.Created * 1000).toISOString(),
    username: labels[LABELS.username] ?? null,
    session_id: labels[LABELS.sessionId] ?? null,
    managed: labels[LABELS.managed] === 'true',
    ports: (c.Ports ?? []).map((p) => ({
      container_port: p.PrivatePort,
      host_port: p.PublicPort ?? null,
      host_ip: p.IP ?? null,
      protocol: p.Type,
    })),
    started_at: null,
    stopped_at: null,
    memory_bytes: null,
    cpu_percent: null,
    limits: null,
    created_by: labels[LABELS.createdBy] ?? null,
  };
}

interface Usage {
  memoryBytes: number | null;
  cpuPercent: number | null;
  /** The CPU counter and when the engine read it, for the next difference. */
  cpuNs: number | null;
  atMs: number;
}

interface UsageCache {
  byId: Map<string, Usage>;
  refreshing: Promise<void> | null;
}

// Memory and CPU come from the engine's stats endpoint, which on Docker 20.10
// answers only at its next 1 s collection tick, "one-shot" or not (measured:
// 0.93-1.0 s per call, against ~1 ms for inspect). Awaiting it would hold every
// sample back by a second, so usage is refreshed in the background and each
// sample serves the latest figures (at most one refresh old). The sampler calls
// sampleContainers as a plain function, so the cache is kept per engine client.
const usageCaches = new WeakMap<Docker, UsageCache>();

function usageCacheFor(docker: Docker): UsageCache {
  let c = usageCaches.get(docker);
  if (!c) usageCaches.set(docker, (c = { byId: new Map(), refreshing: null }));
  return c;
}

/** Resolves when the usage refresh in flight (if any) has finished. For tests and benchmarks. */
export function usageRefreshed(docker: Docker): Promise<void> {
  return usageCacheFor(docker).refreshing ?? Promise.resolve();
}

function refreshUsage(docker: Docker, cache: UsageCache, ids: readonly string[]): void {
  if (cache.refreshing || ids.length === 0) return;
  cache.refreshing = Promise.all(
    ids.map(async (id) => {
      const stats = await withTimeout(docker.getContainer(id).stats({ stream: false, 'one-shot': true }), 10_000, 'docker stats').catch(() => null);
      if (!stats) return;
      const mem = stats.memory_stats as { usage?: number; stats?: Record<string, number> } | undefined;
      // As `docker stats` does: page cache that can be dropped is not use.
      const inactive = mem?.stats?.total_inactive_file ?? mem?.stats?.inactive_file ?? 0;
      const memoryBytes = typeof mem?.usage === 'number' ? Math.max(0, mem.usage - inactive) : null;
      const cpuNs = typeof stats.cpu_stats?.cpu_usage?.total_usage === 'number' ? stats.cpu_stats.cpu_usage.total_usage : null;
      const atMs = Date.parse(stats.read);
      const prev = cache.byId.get(id);
      let cpuPercent: number | null = null;
      if (prev && prev.cpuNs !== null && cpuNs !== null && atMs > prev.atMs && cpuNs >= prev.cpuNs) {
        // % of one core, as for services.
        cpuPercent = Math.round(((cpuNs - prev.cpuNs) / ((atMs - prev.atMs) * 1e6)) * 10000) / 100;
      }
      cache.byId.set(id, { memoryBytes, cpuPercent, cpuNs, atMs: Number.isFinite(atMs) ? atMs : Date.now() });
    }),
  ).then(
    () => {
      cache.refreshing = null;
    },
    () => {
      cache.refreshing = null;
    },
  );
}

/**
 * Adds what only inspect knows to a session container: start and stop times,
 * limits, and the ports held for it while stopped.
 */
async function withSessionDetails(docker: Docker, info: ContainerInfo): Promise<ContainerInfo> {
  const inspect = await docker
    .getContainer(info.id)
    .inspect()
    .catch(() => null);
  const out: ContainerInfo = { ...info };
  if (!inspect) return out;
  out.started_at = dockerTime(inspect.State.StartedAt);
  out.stopped_at = inspect.State.Running ? null : dockerTime(inspect.State.FinishedAt);
  out.state = inspect.State.Status;
  out.limits = {
    memory_bytes: inspect.HostConfig.Memory ?? 0,
    cpu_shares: inspect.HostConfig.CpuShares ?? 0,
    pids_limit: inspect.HostConfig.PidsLimit ?? null,
  };
  if (!inspect.State.Running) {
    // A stopped container publishes nothing, but its configured ports stay held for it.
    const bindings = inspect.HostConfig.PortBindings as Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | undefined;
    out.ports = Object.entries(bindings ?? {}).flatMap(([key, list]) => {
      const [port, protocol] = key.split('/');
      return (list ?? []).map((b) => ({
        container_port: Number(port),
        host_port: b.HostPort ? Number(b.HostPort) : null,
        host_ip: b.HostIp || null,
        protocol: protocol ?? 'tcp',
      }));
    });
  }
  return out;
}

/**
 * Describes containers from a listing: session containers (label managed=true)
 * in full, with the latest background memory and CPU figures; others as the
 * listing has them (read-only, not ours to manage). Starts a usage refresh for
 * the running sessions and does not wait for it.
 */
export async function describeContainers(docker: Docker, list: readonly Docker.ContainerInfo[]): Promise<ContainerInfo[]> {
  const cache = usageCacheFor(docker);
  const out = await Promise.all(
    list.map((c) => {
      const info = fromListEntry(c);
      return info.managed ? withSessionDetails(docker, info) : info;
    }),
  );
  const running = new Set(out.filter((c) => c.managed && c.state === 'running').map((c) => c.id));
  // A stopped or removed container uses nothing; forget it so the cache does not grow.
  for (const id of cache.byId.keys()) if (!running.has(id)) cache.byId.delete(id);
  for (const c of out) {
    const u = running.has(c.id) ? cache.byId.get(c.id) : undefined;
    if (u) {
      c.memory_bytes = u.memoryBytes;
      c.cpu_percent = u.cpuPercent;
    }
  }
  refreshUsage(docker, cache, [...running]);
  return out;
}

/** Lists containers read-only. Docker being absent is a state, not an error. */
export async function sampleContainers(docker: Docker, timeoutMs = 3000): Promise<ContainerSample> {
  try {
    const list = await withTimeout(docker.listContainers({ all: true }), timeoutMs, 'docker engine');
    let containers: ContainerInfo[];
    try {
      containers = await withTimeout(describeContainers(docker, list), timeoutMs, 'docker inspect');
    } catch {
      // The listing alone is still worth serving.
      containers = list.map(fromListEntry);
    }
    return { available: true, error: null, containers };
  } catch (err) {
    return { available: false, error: (err as Error).message, containers: [] };
  }
}
