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

interface CpuReading {
  cpuNs: number;
  atMs: number;
}

// CPU % is a difference between two readings of a container's CPU counter. The
// sampler calls sampleContainers as a plain function, so the previous readings
// are kept per engine client rather than threaded through it.
const cpuReadings = new WeakMap<Docker, Map<string, CpuReading>>();

function readingsFor(docker: Docker): Map<string, CpuReading> {
  let m = cpuReadings.get(docker);
  if (!m) cpuReadings.set(docker, (m = new Map()));
  return m;
}

/**
 * Adds what only inspect and stats know to a session container: start and stop
 * times, limits, ports held while stopped, current memory and CPU. Stats are
 * asked "one-shot" (API 1.41+), which answers at once instead of waiting a
 * second for a second reading; CPU % comes from our previous reading instead.
 */
async function withSessionDetails(docker: Docker, info: ContainerInfo, readings: Map<string, CpuReading>): Promise<ContainerInfo> {
  const c = docker.getContainer(info.id);
  const running = info.state === 'running';
  const [inspect, stats] = await Promise.all([
    c.inspect().catch(() => null),
    running ? c.stats({ stream: false, 'one-shot': true }).catch(() => null) : Promise.resolve(null),
  ]);
  const out: ContainerInfo = { ...info };
  if (inspect) {
    out.started_at = dockerTime(inspect.State.StartedAt);
    out.stopped_at = inspect.State.Running ? null : dockerTime(inspect.State.FinishedAt);
    out.state = inspect.State.Status;
    out.limits = {
      memory_bytes: inspect.HostConfig.Memory ?? 0,
      cpu_shares: inspect.HostConfig.CpuShares ?? 0,
      pids_limit: inspect.HostConfig.PidsLimit ?? null,
    };
    if (!running) {
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
  }
  if (stats && running) {
    const mem = stats.memory_stats as { usage?: number; stats?: Record<string, number> } | undefined;
    if (typeof mem?.usage === 'number') {
      // As `docker stats` does: page cache that can be dropped is not use.
      const inactive = mem.stats?.total_inactive_file ?? mem.stats?.inactive_file ?? 0;
      out.memory_bytes = Math.max(0, mem.usage - inactive);
    }
    const cpuNs = stats.cpu_stats?.cpu_usage?.total_usage;
    const atMs = Date.parse(stats.read);
    if (typeof cpuNs === 'number' && Number.isFinite(atMs)) {
      const prev = readings.get(info.id);
      if (prev && atMs > prev.atMs && cpuNs >= prev.cpuNs) {
        out.cpu_percent = Math.round(((cpuNs - prev.cpuNs) / ((atMs - prev.atMs) * 1e6)) * 10000) / 100;
      }
      readings.set(info.id, { cpuNs, atMs });
    }
  }
  return out;
}

/**
 * Describes containers from a listing: session containers (label managed=true)
 * in full, others as the listing has them (read-only, not ours to manage).
 */
export async function describeContainers(docker: Docker, list: readonly Docker.ContainerInfo[]): Promise<ContainerInfo[]> {
  const readings = readingsFor(docker);
  const out = await Promise.all(
    list.map((c) => {
      const info = fromListEntry(c);
      return info.managed ? withSessionDetails(docker, info, readings) : info;
    }),
  );
  // Forget containers that are gone, so the map does not grow for ever.
  const seen = new Set(list.map((c) => c.Id));
  for (const id of readings.keys()) if (!seen.has(id)) readings.delete(id);
  return out;
}

/** Lists containers read-only. Docker being absent is a state, not an error. */
export async function sampleContainers(docker: Docker, timeoutMs = 3000): Promise<ContainerSample> {
  try {
    const list = await withTimeout(docker.listContainers({ all: true }), timeoutMs, 'docker engine');
    let containers: ContainerInfo[];
    try {
      containers = await withTimeout(describeContainers(docker, list), timeoutMs, 'docker inspect/stats');
    } catch {
      // The listing alone is still worth serving.
      containers = list.map(fromListEntry);
    }
    return { available: true, error: null, containers };
  } catch (err) {
    return { available: false, error: (err as Error).message, containers: [] };
  }
}
