/**
 * Shared by the session-container tests (agent and collector) and the benchmark:
 * a real Docker engine (started by .ci/docker.sh), the locally built test image,
 * and an agent app wired like main.ts with the container routes.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import pino from 'pino';
import { Registry } from 'prom-client';
import { openAuditLog, type AuditLog } from '../src/audit/auditLog';
import type { SessionPolicy } from '../src/containers/policy';
import { createSessionManager, type SessionManager } from '../src/containers/sessionManager';
import { createApp, type SecurityOptions } from '../src/http/createApp';
import { containerRoutes } from '../src/http/routes/containers';
import { LABELS } from '../src/sampling/containers';
import { createDockerClient } from '../src/sampling/dockerClient';
import { createSampler, type Sampler } from '../src/sampling/sampler';
import { KeyStore, parseKeyFile, hashKey } from '../src/security/keyStore';

export const DOCKER_SOCKET = process.env.VIWORKS_TEST_DOCKER_SOCKET ?? '/var/run/docker.sock';
/** Built by .ci/docker.sh: busybox with httpd serving /www on 8080 as its default command. */
export const TEST_IMAGE = process.env.VIWORKS_TEST_IMAGE ?? 'viworks-test/busybox:1';

const silent = pino({ level: 'silent' });

/**
 * Asked once, synchronously, at file load (describe() needs the answer then):
 * null when the engine answers and has the test image, else why not.
 */
function probeDocker(): string | null {
  const script = `
    const http = require('node:http');
    const get = (p) => new Promise((res) => http.get({ socketPath: ${JSON.stringify(DOCKER_SOCKET)}, path: p, timeout: 3000 }, (r) => { r.resume(); res(r.statusCode); })
      .on('error', (e) => res(e.code || e.message)).on('timeout', function () { this.destroy(); res('timeout'); }));
    (async () => {
      const ping = await get('/_ping');
      if (ping !== 200) { console.log('engine at ${DOCKER_SOCKET} does not answer (' + ping + ')'); return; }
      const img = await get('/images/' + encodeURIComponent(${JSON.stringify(TEST_IMAGE)}) + '/json');
      if (img !== 200) console.log('test image ${TEST_IMAGE} is missing');
    })();`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return r.error.message;
  return r.stdout.trim() || null;
}

export const dockerUnavailable: string | null = probeDocker();
if (dockerUnavailable && process.env.CI !== 'true') {
  // jest does not name wholly skipped suites, so say it here.
  console.warn(`[viworks] Docker unavailable (${dockerUnavailable}): session-container tests skipped. Run: bash .ci/docker.sh`);
}

/**
 * describe() when the engine is up with the test image. In CI (CI=true) these
 * tests must run: an absent engine fails the file instead of skipping it.
 */
export const describeDocker: jest.Describe = dockerUnavailable
  ? process.env.CI === 'true'
    ? (Object.assign((name: string) => {
        throw new Error(`CI=true but Docker is not usable for "${name}": ${dockerUnavailable}. Run .ci/docker.sh first.`);
      }, describe) as jest.Describe)
    : (Object.assign((name: string, fn: () => void) => describe.skip(`${name} (Docker unavailable: ${dockerUnavailable}; run .ci/docker.sh)`, fn), describe) as jest.Describe)
  : describe;

export const docker = () => new Docker({ socketPath: DOCKER_SOCKET });

/** A per-run tag, so parallel runs on one engine never touch each other's sessions. */
export const runTag = (what: string) => `${what}-${process.pid}-${Date.now().toString(36)}`;

export function testPolicy(over: Partial<SessionPolicy> = {}): SessionPolicy {
  return {
    images: [TEST_IMAGE],
    writableImages: [],
    bindIp: '127.0.0.1',
    portPool: { kind: 'range', first: 21000, last: 21099 },
    memoryMb: { min: 16, max: 512, default: 64 },
    cpuShares: { min: 2, max: 1024, default: 256 },
    pidsLimit: { min: 8, max: 256, default: 64 },
    maxSessions: 50,
    ttlSeconds: 3600,
    exitedTtlSeconds: 600,
    cleanupIntervalSeconds: 0,
    capAdd: [],
    user: null,
    tmpfsMb: 16,
    stopTimeoutSeconds: 2,
    ...over,
  };
}

export const OPERATOR_KEY = 'vwk_test_operator_key_0123456789abcdef';
export const VIEWER_KEY = 'vwk_test_viewer_key_0123456789abcdef';

/** Real keys (operator "ops", viewer "watcher"); no anonymous access. */
export function keyedSecurity(): SecurityOptions {
  const file = JSON.stringify({
    keys: [
      { id: 'ops', role: 'operator', hash: hashKey(OPERATOR_KEY) },
      { id: 'watcher', role: 'viewer', hash: hashKey(VIEWER_KEY) },
    ],
  });
  return {
    keys: new KeyStore(parseKeyFile(file)),
    jwt: null,
    insecureNoAuth: false,
    allowedIps: [],
    trustedProxies: [],
    rateLimitPerMinute: 1_000_000,
    bodyLimitBytes: 64 * 1024,
  };
}

export interface SessionAgent {
  app: ReturnType<typeof createApp>;
  agentId: string;
  /** The engine client the sampler and the manager share. */
  engine: Docker;
  manager: SessionManager;
  sampler: Sampler;
  audit: AuditLog;
  auditDir: string;
  policy: SessionPolicy;
  close(): Promise<void>;
}

/** An agent app as main.ts wires it: real sampler, real audit log, the container routes. */
export async function sessionAgent(opts: {
  agentId: string;
  policy?: SessionPolicy;
  socketPath?: string;
  security?: SecurityOptions;
  /** Stands in for the audit log's append (e.g. one that fails). */
  auditAppend?: AuditLog['append'];
}): Promise<SessionAgent> {
  const policy = opts.policy ?? testPolicy();
  // The agent's own client (light reads, dockerode for changes), as main.ts wires it.
  const engine = createDockerClient(opts.socketPath ?? DOCKER_SOCKET);
  const sampler = createSampler({
    config: { agentId: opts.agentId, sampleIntervalMs: 60_000, inventoryIntervalMs: 600_000, diskMount: '/', services: [] },
    docker: engine,
    logger: silent,
    systemd: false,
  });
  await sampler.sampleNow();
  const auditDir = fs.mkdtempSync(path.join(os.tmpdir(), 'viworks-sessions-audit-'));
  const audit = await openAuditLog({ dir: auditDir });
  const manager = createSessionManager({ docker: engine, policy, agentId: opts.agentId, dockerSocket: opts.socketPath ?? DOCKER_SOCKET, logger: silent, readTimeoutMs: 3000 });
  const app = createApp({
    sampler,
    registry: new Registry(),
    logger: silent,
    version: '0.1.0',
    startedAt: new Date(),
    audit,
    security: opts.security ?? keyedSecurity(),
    extraRoutes: [containerRoutes({ manager, policy, audit: opts.auditAppend ? { append: opts.auditAppend } : audit, sideAudit: audit, logger: silent })],
  });
  return {
    app,
    agentId: opts.agentId,
    engine,
    manager,
    sampler,
    audit,
    auditDir,
    policy,
    async close() {
      await sampler.stop();
      await audit.close();
      fs.rmSync(auditDir, { recursive: true, force: true });
    },
  };
}

/** Everything this agent id ever created on the engine, removed (label-filtered). */
export async function removeSessionsOf(agentId: string): Promise<number> {
  const d = docker();
  const list = await d.listContainers({ all: true, filters: { label: [`${LABELS.agentId}=${agentId}`] } });
  await Promise.all(list.map((c) => d.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
  return list.length;
}

export async function containersOf(agentId: string): Promise<Docker.ContainerInfo[]> {
  return docker().listContainers({ all: true, filters: { label: [`${LABELS.agentId}=${agentId}`] } });
}

/** Runs a command inside a container; resolves with its exit code and output. */
export async function execIn(id: string, cmd: string[], timeoutMs = 30_000): Promise<{ exitCode: number | null; output: string }> {
  const exec = await docker().getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  let output = '';
  stream.on('data', (b: Buffer) => {
    // Multiplexed frames: 8-byte header then payload; keep the text readable enough.
    output += b.toString('utf8').replace(/[\u0000-\u0008]/g, '');
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`exec ${cmd.join(' ')} did not end within ${timeoutMs} ms`)), timeoutMs);
    stream.on('end', () => {
      clearTimeout(timer);
      resolve();
    });
    stream.on('error', reject);
  });
  const info = await exec.inspect();
  return { exitCode: info.ExitCode, output };
}

/** GET http://host:port/path with a short timeout; the body, or the error's code. */
export async function httpGet(url: string, timeoutMs = 3000): Promise<{ status: number; body: string } | { error: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    const e = err as { cause?: { code?: string }; name?: string };
    return { error: e.cause?.code ?? e.name ?? String(err) };
  }
}
