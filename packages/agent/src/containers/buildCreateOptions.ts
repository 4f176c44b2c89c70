import type Docker from 'dockerode';
import { LABELS } from '../sampling/containers';
import type { SessionPolicy } from './policy';
import type { SessionSpec } from './validateSessionRequest';

export const sessionContainerName = (sessionId: string) => `viworks-session-${sessionId}`;

export interface CreateMeta {
  readonly agentId: string;
  /** Principal id of the caller (never a secret). */
  readonly createdBy: string;
}

/**
 * Pure: the engine's create body for a session. Hardened by default: every
 * capability dropped (AGENT_SESSION_CAP_ADD gives some back), no-new-privileges,
 * a pids limit, memory+swap equal to memory (no swap), an init process as PID 1
 * so stop is prompt and zombies are reaped, a read-only root with a small /tmp
 * unless the image is listed as writable, capped json logs, no restart, and an
 * OOM score that makes the kernel pick session processes before host ones.
 */
export function buildCreateOptions(
  spec: SessionSpec,
  hostPorts: readonly number[],
  policy: Pick<SessionPolicy, 'bindIp' | 'capAdd' | 'user' | 'tmpfsMb' | 'stopTimeoutSeconds'>,
  meta: CreateMeta,
): Docker.ContainerCreateOptions {
  if (hostPorts.length !== spec.ports.length) throw new RangeError(`${spec.ports.length} container ports but ${hostPorts.length} host ports`);
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  spec.ports.forEach((port, i) => {
    const key = `${port}/tcp`;
    exposed[key] = {};
    // "" lets Docker pick an ephemeral port.
    bindings[key] = [{ HostIp: policy.bindIp, HostPort: hostPorts[i] ? String(hostPorts[i]) : '' }];
  });
  return {
    name: sessionContainerName(spec.sessionId),
    Image: spec.image,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    ExposedPorts: exposed,
    ...(policy.user ? { User: policy.user } : {}),
    StopTimeout: policy.stopTimeoutSeconds,
    Labels: {
      [LABELS.managed]: 'true',
      [LABELS.username]: spec.username,
      [LABELS.sessionId]: spec.sessionId,
      [LABELS.createdBy]: meta.createdBy,
      [LABELS.agentId]: meta.agentId,
      [LABELS.hostPorts]: hostPorts.filter((p) => p > 0).join(','),
    },
    HostConfig: {
      PortBindings: bindings,
      Memory: spec.memoryBytes,
      MemorySwap: spec.memoryBytes,
      CpuShares: spec.cpuShares,
      PidsLimit: spec.pidsLimit,
      Init: true,
      ReadonlyRootfs: spec.readOnlyRoot,
      ...(spec.readOnlyRoot ? { Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${policy.tmpfsMb}m` } } : {}),
      CapDrop: ['ALL'],
      CapAdd: [...policy.capAdd],
      SecurityOpt: ['no-new-privileges:true'],
      Privileged: false,
      RestartPolicy: { Name: 'no' },
      OomScoreAdj: 500,
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } },
    },
  };
}
