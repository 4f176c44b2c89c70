import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsHistoryResponse, StatusResponse, SystemInfoResponse } from '../packages/protocol/src';

/**
 * Many simulated agents behind one loopback port: agent `id` lives under
 * `/a/<id>`, so its base URL is `http://127.0.0.1:<port>/a/<id>`. Payloads
 * have the real agent's exact shapes and change over time, but are a pure
 * function of (agent, sample time), so a sample fetched live and the same
 * sample fetched later from history are identical, as on a real agent.
 */

export const FAULTS = ['none', 'hang', 'slow_drip', 'http_500', 'garbage', 'huge_body', 'reset', 'bad_clock', 'invalid_body'] as const;
export type Fault = (typeof FAULTS)[number];

export interface FleetSimulator {
  url: string;
  baseUrl(id: string): string;
  ids: string[];
  setFault(id: string, fault: Fault): void;
  /** Requests served, by path kind. */
  counts: { status: number; system: number; history: number };
  close(): Promise<void>;
}

export interface SimulatorOptions {
  agents: number;
  /** Sample interval of the simulated agents. */
  sampleMs?: number;
  /** How far back history reaches. */
  historyMs?: number;
  prefix?: string;
  now?: () => number;
}

// A small deterministic hash → [0, 1).
function noise(a: number, b: number): number {
  let h = (a * 374761393 + b * 668265263) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 1274126177) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export function simulatedSystem(agent: number, t: number) {
  const minute = Math.floor(t / 60_000);
  const wave = Math.sin((t / 3_600_000) * Math.PI * 2 + agent);
  const cpu = round2(Math.min(100, Math.max(0, 30 + 25 * wave + 20 * noise(agent, t / 1000))));
  return {
    cpu_usage_percent: cpu,
    memory_usage_percent: round2(40 + 20 * noise(agent, minute)),
    disk_usage_percent: round2(50 + 10 * noise(agent, 1)),
    load_average: { one_minute: round2(cpu / 40), five_minutes: round2(cpu / 45), fifteen_minutes: round2(cpu / 50) },
    uptime_seconds: Math.floor(t / 1000) - 1_700_000_000 + agent,
    temperature: null,
  };
}

export async function startFleetSimulator(opts: SimulatorOptions): Promise<FleetSimulator> {
  const sampleMs = opts.sampleMs ?? 5000;
  const historyMs = opts.historyMs ?? 6 * 3_600_000;
  const now = opts.now ?? (() => Date.now());
  const prefix = opts.prefix ?? 'sim';
  const ids = Array.from({ length: opts.agents }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);
  const index = new Map(ids.map((id, i) => [id, i]));
  const faults = new Map<string, Fault>();
  const counts = { status: 0, system: 0, history: 0 };
  const sampleTime = (t: number) => Math.floor(t / sampleMs) * sampleMs;

  const status = (id: string, i: number, t: number): StatusResponse => ({
    agent_id: id,
    hostname: `${id}.fleet.test`,
    timestamp: new Date(t).toISOString(),
    system: simulatedSystem(i, t),
    services: ['sshd', 'nginx', 'postgres'].map((name, k) => ({
      name,
      status: noise(i, k + Math.floor(t / 300_000)) < 0.02 ? 'stopped' : 'running',
      pid: 1000 + i * 10 + k,
      process_count: 1 + k,
      cpu_percent: round2(noise(i, k) * 5),
      memory_bytes: 10_000_000 * (k + 1),
      source: 'proc',
      detail: null,
    })) as StatusResponse['services'],
    containers: [],
    docker: { available: false, error: 'simulated' },
  });

  const system = (id: string, t: number): SystemInfoResponse => ({
    agent_id: id,
    timestamp: new Date(t).toISOString(),
    cpu: { cores: 2, usage_percent: 10, frequency: 2400, brand: 'Simulated CPU' },
    memory: { total_gb: 2, used_gb: 0.5, available_gb: 1.5, usage_percent: 25 },
    network: { interfaces: ['eth0', 'lo'], bytes_sent: 1000, bytes_received: 2000, interface_stats: [
      { name: 'eth0', bytes_sent: 900, bytes_received: 1900, errors_sent: 0, errors_received: 0 },
      { name: 'lo', bytes_sent: 100, bytes_received: 100, errors_sent: 0, errors_received: 0 },
    ] },
    disks: [{ mount: '/', filesystem: '/dev/vda1', type: 'ext4', size_bytes: 50e9, used_bytes: 25e9, usage_percent: 50 }],
    system: { hostname: `${id}.fleet.test`, os_name: 'Debian GNU/Linux', os_version: '12 (bookworm)', kernel_version: '6.1.0-13', architecture: 'x64' },
  });

  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const m = /^\/a\/([^/]+)(\/[^?]*)(\?.*)?$/.exec(req.url ?? '');
    const id = m?.[1];
    const i = id === undefined ? undefined : index.get(id);
    if (!m || i === undefined) return void res.writeHead(404).end();
    const fault = faults.get(id!) ?? 'none';
    const t = sampleTime(now());
    const send = (body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    };
    switch (fault) {
      case 'hang':
        return; // never answers; the socket is closed by close()
      case 'reset':
        return void req.socket.resetAndDestroy();
      case 'http_500':
        return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"code":"internal","message":"simulated"}}');
      case 'garbage':
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"system": {"cpu_usage_percent": 12,');
      case 'slow_drip': {
        res.writeHead(200, { 'content-type': 'application/json' });
        const timer = setInterval(() => res.write(' '), 200);
        res.on('close', () => clearInterval(timer));
        return;
      }
      case 'huge_body': {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(1 << 20, 0x20);
        let sent = 0;
        const pump = () => {
          while (sent < 50) {
            sent++;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('error', () => undefined);
        return pump();
      }
      default:
        break;
    }
    const path = m[2];
    if (path === '/api/v1/status') {
      counts.status++;
      const body = status(id!, i, t);
      if (fault === 'bad_clock') body.timestamp = new Date(t + 86_400_000).toISOString();
      if (fault === 'invalid_body') (body.system as { cpu_usage_percent: number }).cpu_usage_percent = 250;
      return send(body);
    }
    if (path === '/api/v1/system') {
      counts.system++;
      return send(system(id!, t));
    }
    if (path === '/api/v1/metrics/history') {
      counts.history++;
      const q = new URLSearchParams(m[3]?.slice(1) ?? '');
      const since = Date.parse(q.get('since') ?? '');
      const limit = Math.min(2000, Number(q.get('limit') ?? 500));
      if (!Number.isFinite(since)) return void res.writeHead(400).end('{"error":{"code":"invalid_query","message":"since"}}');
      const oldest = sampleTime(now() - historyMs) + sampleMs;
      const samples = [];
      for (let ts = Math.max(oldest, sampleTime(since) + sampleMs); ts <= t && samples.length < limit; ts += sampleMs) {
        if (ts <= since) continue;
        samples.push({ timestamp: new Date(ts).toISOString(), system: simulatedSystem(i, ts) });
      }
      const last = samples.at(-1);
      const body: MetricsHistoryResponse = {
        agent_id: id!,
        samples,
        next_since: last && Date.parse(last.timestamp) < t ? last.timestamp : null,
        oldest: new Date(oldest).toISOString(),
        complete: oldest <= since,
      };
      return send(body);
    }
    res.writeHead(404).end();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.keepAliveTimeout = 65_000;
  server.maxRequestsPerSocket = 0;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    ids,
    counts,
    baseUrl: (id) => `${url}/a/${id}`,
    setFault: (id, fault) => void (fault === 'none' ? faults.delete(id) : faults.set(id, fault)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
