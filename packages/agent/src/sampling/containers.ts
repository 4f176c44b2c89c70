import type Docker from 'dockerode';
import type { ContainerInfo } from '@viworks/protocol';

/** Labels the agent puts on the session containers it creates. */
export const LABELS = {
  managed: 'works.viworks.managed',
  username: 'works.viworks.username',
  sessionId: 'works.viworks.session-id',
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

/** Lists containers read-only. Docker being absent is a state, not an error. */
export async function sampleContainers(docker: Docker, timeoutMs = 3000): Promise<ContainerSample> {
  try {
    const list = await withTimeout(docker.listContainers({ all: true }), timeoutMs, 'docker engine');
    return {
      available: true,
      error: null,
      containers: list.map((c) => {
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
        };
      }),
    };
  } catch (err) {
    return { available: false, error: (err as Error).message, containers: [] };
  }
}
