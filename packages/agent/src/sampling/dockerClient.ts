import http from 'node:http';
import type Docker from 'dockerode';

/**
 * The Docker client the agent uses. Reads (list, inspect, stats: every sample
 * and most API calls) go straight to the Engine API over the unix socket;
 * dockerode, which pulls in ssh2, gRPC and protobufjs (~20 MB of RSS, measured
 * in bench/agent), is loaded only when the agent first changes something
 * (create, start, stop, remove). Errors carry dockerode's shape (statusCode,
 * json.message; code for socket errors) so callers treat both alike.
 */

interface EngineError extends Error {
  statusCode?: number;
  json?: { message?: string };
  code?: string;
}

function engineGet<T>(socketPath: string, path: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path, headers: { host: 'docker', accept: 'application/json' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : null;
        } catch {
          json = null;
        }
        if ((res.statusCode ?? 500) >= 400) {
          const message = (json as { message?: string } | null)?.message ?? text.slice(0, 200);
          const err: EngineError = new Error(`(HTTP code ${res.statusCode}) ${message}`);
          err.statusCode = res.statusCode;
          err.json = { message };
          return reject(err);
        }
        resolve(json as T);
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`Docker engine did not answer ${path} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
  });
}

const query = (params: Record<string, unknown>) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    q.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
};

export function createDockerClient(socketPath: string, timeoutMs = 10_000): Docker {
  let full: Docker | null = null;
  const heavy = (): Docker => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    full ??= new (require('dockerode') as typeof Docker)({ socketPath });
    return full;
  };
  const get = <T>(path: string) => engineGet<T>(socketPath, path, timeoutMs);

  const client = {
    listContainers: (opts: { all?: boolean; filters?: unknown } = {}) =>
      get<Docker.ContainerInfo[]>(`/containers/json${query({ all: opts.all ? 'true' : undefined, filters: opts.filters })}`),
    getContainer: (id: string) => {
      const path = `/containers/${encodeURIComponent(id)}`;
      return {
        id,
        inspect: () => get<Docker.ContainerInspectInfo>(`${path}/json`),
        stats: (opts: { 'one-shot'?: boolean } = {}) => get<Docker.ContainerStats>(`${path}/stats${query({ stream: 'false', 'one-shot': opts['one-shot'] ? 'true' : undefined })}`),
        start: (...a: unknown[]) => (heavy().getContainer(id).start as (...x: unknown[]) => Promise<unknown>)(...a),
        stop: (...a: unknown[]) => (heavy().getContainer(id).stop as (...x: unknown[]) => Promise<unknown>)(...a),
        remove: (...a: unknown[]) => (heavy().getContainer(id).remove as (...x: unknown[]) => Promise<unknown>)(...a),
        kill: (...a: unknown[]) => (heavy().getContainer(id).kill as (...x: unknown[]) => Promise<unknown>)(...a),
      };
    },
    createContainer: (opts: Docker.ContainerCreateOptions) => heavy().createContainer(opts),
    getImage: (name: string) => ({ inspect: () => get<Docker.ImageInspectInfo>(`/images/${encodeURIComponent(name)}/json`) }),
  };
  // Only the calls above are used by the agent; anything else would be a bug worth a TypeError.
  return client as unknown as Docker;
}
