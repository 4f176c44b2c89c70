import { EventEmitter } from 'node:events';
import http from 'node:http';
import { StatusResponse } from '@viworks/protocol';
import { listen } from './helpers';

/** Resolves when `check` returns true after an event, or rejects after timeoutMs. */
export function waitUntil(emitter: EventEmitter, event: string, check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onEvent = () => {
      if (!check()) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
    };
    emitter.on(event, onEvent);
  });
}

export interface AgentValues {
  cpu: number;
  down: boolean;
  services: Array<{ name: string; status: 'running' | 'stopped' | 'error' }>;
}

/**
 * Many fake agents on one port, told apart by a path prefix (`/<id>/api/v1/status`),
 * each serving the real StatusResponse shape (validated here) with values the test sets.
 * The timestamp is the test's clock, so every poll is a new sample.
 */
export async function fakeAgents(ids: readonly string[], clock: () => Date) {
  const values = new Map<string, AgentValues>(ids.map((id) => [id, { cpu: 10, down: false, services: [] }]));
  const server = await listen((req, res) => {
    const m = /^\/([^/]+)\/api\/v1\/status$/.exec(req.url ?? '');
    const v = m ? values.get(m[1]!) : undefined;
    if (!v) return void res.writeHead(404).end();
    if (v.down) return void req.socket.destroy();
    const body = StatusResponse.parse({
      agent_id: m![1],
      hostname: `${m![1]}.example`,
      timestamp: clock().toISOString(),
      system: {
        cpu_usage_percent: v.cpu,
        memory_usage_percent: 40,
        disk_usage_percent: 50,
        load_average: { one_minute: 0.1, five_minutes: 0.2, fifteen_minutes: 0.3 },
        uptime_seconds: 1000,
        temperature: null,
      },
      services: v.services.map((s) => ({
        name: s.name,
        status: s.status,
        pid: s.status === 'running' ? 1234 : null,
        process_count: s.status === 'running' ? 1 : 0,
        cpu_percent: null,
        memory_bytes: null,
        source: 'proc',
        detail: null,
      })),
      containers: [],
      docker: { available: false, error: 'not installed' },
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  return {
    ...server,
    targets: ids.map((id) => ({ id, baseUrl: `${server.url}/${id}`, token: null })),
    set(id: string, v: Partial<AgentValues>) {
      values.set(id, { ...values.get(id)!, ...v });
    },
    setAll(v: Partial<AgentValues>) {
      for (const id of ids) this.set(id, v);
    },
  };
}

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** A local notification receiver: records every POST; `fail(path, n)` answers the next n with 500. */
export async function recordingReceiver() {
  const events = new EventEmitter();
  const received: Received[] = [];
  const failures = new Map<string, number>();
  const server = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      const left = failures.get(path) ?? 0;
      received.push({ path, headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') });
      if (left > 0) {
        failures.set(path, left - 1);
        res.writeHead(500, { 'content-type': 'text/plain' }).end('try again');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      }
      events.emit('request');
    });
  });
  const at = (path: string) => received.filter((r) => r.path === path);
  return {
    ...server,
    received,
    at,
    fail(path: string, times: number) {
      failures.set(path, times);
    },
    /** Waits until `path` has received n requests (bounded). */
    waitFor(path: string, n: number, timeoutMs = 5000) {
      return waitUntil(events, 'request', () => at(path).length >= n, timeoutMs, `${n} request(s) to ${path}`);
    },
  };
}
