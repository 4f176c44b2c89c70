#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Session containers on the real engine, through the agent's HTTP API on
 * loopback (the routes, validation, audit log with fdatasync, port allocation
 * and dockerode, as main.ts wires them):
 *   - spawn (POST /api/v1/containers → 201, the container running) and stop
 *     (POST /api/v1/containers/:id/stop → 200, exited): p50/p95 over N
 *     sessions one after another; start and delete as well;
 *   - N spawns at once: wall time and distinct ports;
 *   - what the background sampler pays to describe N running sessions
 *     (inspect + one-shot stats each) against none.
 * Prints a table and writes JSON to bench/results/ (git-ignored).
 *
 *   bash .ci/docker.sh && npx tsc -b && node bench/containers/run.js [--n 20]
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { parseArgs } = require('node:util');

const ROOT = path.join(__dirname, '..', '..');
const dist = (p) => path.join(ROOT, 'packages', 'agent', 'dist', p);
const Docker = require('dockerode');
const pino = require('pino');
const { Registry } = require('prom-client');
const { openAuditLog } = require(dist('audit/auditLog'));
const { createSessionManager } = require(dist('containers/sessionManager'));
const { buildCreateOptions } = require(dist('containers/buildCreateOptions'));
const { createApp } = require(dist('http/createApp'));
const { containerRoutes } = require(dist('http/routes/containers'));
const { sampleContainers, usageRefreshed } = require(dist('sampling/containers'));
const { createSampler } = require(dist('sampling/sampler'));
const { KeyStore } = require(dist('security/keyStore'));

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '20' },
    image: { type: 'string', default: 'viworks-test/busybox:1' },
    socket: { type: 'string', default: '/var/run/docker.sock' },
  },
});
const N = Number(args.n);
const IMAGE = args.image;
const AGENT_ID = `bench-${process.pid}-${Date.now().toString(36)}`;

/** @param {number[]} xs @param {number} q */
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
}
/** @param {number[]} xs */
const summary = (xs) => ({ n: xs.length, p50: round(quantile(xs, 0.5)), p95: round(quantile(xs, 0.95)), min: round(Math.min(...xs)), max: round(Math.max(...xs)) });
/** @param {number} x */
const round = (x) => Math.round(x * 10) / 10;

async function main() {
  const docker = new Docker({ socketPath: args.socket });
  await docker.ping();
  await docker.getImage(IMAGE).inspect();
  const logger = pino({ level: 'silent' });
  const policy = {
    images: [IMAGE],
    writableImages: [],
    bindIp: '127.0.0.1',
    portPool: { kind: 'range', first: 22000, last: 22099 }, // 22100+ for the engine-only runs
    memoryMb: { min: 16, max: 2048, default: 64 },
    cpuShares: { min: 2, max: 1024, default: 512 },
    pidsLimit: { min: 8, max: 1024, default: 128 },
    maxSessions: 200,
    ttlSeconds: 86400,
    exitedTtlSeconds: 3600,
    cleanupIntervalSeconds: 0,
    capAdd: [],
    user: null,
    tmpfsMb: 64,
    stopTimeoutSeconds: 10,
  };
  const auditDir = fs.mkdtempSync(path.join(os.tmpdir(), 'viworks-bench-audit-'));
  const audit = await openAuditLog({ dir: auditDir });
  const sampler = createSampler({
    config: { agentId: AGENT_ID, sampleIntervalMs: 3_600_000, inventoryIntervalMs: 3_600_000, diskMount: '/', services: [] },
    docker,
    logger,
    systemd: false,
  });
  await sampler.sampleNow();
  const manager = createSessionManager({ docker, policy, agentId: AGENT_ID, dockerSocket: args.socket, logger });
  const app = createApp({
    sampler,
    registry: new Registry(),
    logger,
    version: 'bench',
    startedAt: new Date(),
    audit,
    security: { keys: new KeyStore([]), jwt: null, insecureNoAuth: true, allowedIps: [], trustedProxies: [], rateLimitPerMinute: 1e9, bodyLimitBytes: 65536 },
    extraRoutes: [containerRoutes({ manager, policy, audit, sideAudit: audit, logger })],
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const addr = /** @type {import('node:net').AddressInfo} */ (server.address());
  const base = `http://127.0.0.1:${addr.port}`;

  /** @param {string} method @param {string} p @param {unknown} [body] */
  async function call(method, p, body) {
    const t = performance.now();
    const res = await fetch(base + p, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = await res.json();
    const ms = performance.now() - t;
    if (res.status >= 300) throw new Error(`${method} ${p} → ${res.status} ${JSON.stringify(json)}`);
    return { ms, json };
  }
  const spawnBody = (/** @type {string} */ s) => ({ username: 'bench', session_id: `${AGENT_ID}-${s}`, image: IMAGE, ports: [8080] });

  const cleanup = async () => {
    const list = await docker.listContainers({ all: true, filters: { label: [`works.viworks.agent-id=${AGENT_ID}`] } });
    await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  };
  // Ctrl-C still removes every container this run made.
  process.once('SIGINT', () => {
    cleanup().finally(() => process.exit(130));
  });
  const loadBefore = os.loadavg();

  try {
    const idleSample = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await sampleContainers(docker);
      idleSample.push(performance.now() - t);
    }
    // One after another: what one operator sees.
    const spawn = [];
    const stop = [];
    const start = [];
    const remove = [];
    const ids = [];
    for (let i = 0; i < N; i++) {
      const r = await call('POST', '/api/v1/containers', spawnBody(`seq${i}`));
      spawn.push(r.ms);
      ids.push(r.json.id);
    }
    const busySample = [];
    const refresh = [];
    for (let i = 0; i < 5; i++) {
      await usageRefreshed(docker);
      const t = performance.now();
      await sampleContainers(docker);
      busySample.push(performance.now() - t);
      // The stats refresh that sample started, off the sample's path.
      const r = performance.now();
      await usageRefreshed(docker);
      refresh.push(performance.now() - r + (r - t));
    }
    for (const id of ids) stop.push((await call('POST', `/api/v1/containers/${id}/stop`)).ms);
    for (const id of ids) start.push((await call('POST', `/api/v1/containers/${id}/start`)).ms);
    for (const id of ids) remove.push((await call('DELETE', `/api/v1/containers/${id}`)).ms);

    // The engine's own floor: the same create body through dockerode, no agent.
    const rawSpawn = [];
    const rawStop = [];
    for (let i = 0; i < N; i++) {
      const spec = { username: 'bench', sessionId: `${AGENT_ID}-raw${i}`, image: IMAGE, memoryBytes: 64 * 2 ** 20, cpuShares: 512, pidsLimit: 128, ports: [8080], env: {}, readOnlyRoot: true };
      const t = performance.now();
      const c = await docker.createContainer(buildCreateOptions(spec, [22100 + i], policy, { agentId: AGENT_ID, createdBy: 'bench' }));
      await c.start();
      rawSpawn.push(performance.now() - t);
      const u = performance.now();
      await c.stop({ t: 10 });
      rawStop.push(performance.now() - u);
      await c.remove({ force: true });
    }

    // All at once: what a burst of logins sees.
    const t0 = performance.now();
    const burst = await Promise.all(Array.from({ length: N }, (_, i) => call('POST', '/api/v1/containers', spawnBody(`burst${i}`))));
    const burstWall = performance.now() - t0;
    const ports = new Set(burst.map((b) => b.json.ports[0].host_port));
    const t1 = performance.now();
    await Promise.all(burst.map((b) => call('POST', `/api/v1/containers/${b.json.id}/stop`)));
    const burstStopWall = performance.now() - t1;

    const info = await docker.version();
    const result = {
      date: new Date().toISOString(),
      commit: gitHead(),
      host: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        memGb: Math.round(os.totalmem() / 2 ** 30),
        kernel: os.release(),
        // The machine is shared: how busy it was around this run (1-min load average).
        loadBefore: round(loadBefore[0]),
        loadAfter: round(os.loadavg()[0]),
      },
      engine: { version: info.Version, api: info.ApiVersion, storage: (await docker.info()).Driver },
      image: IMAGE,
      n: N,
      sequentialMs: { spawn: summary(spawn), stop: summary(stop), start: summary(start), remove: summary(remove) },
      engineOnlyMs: { createStart: summary(rawSpawn), stop: summary(rawStop) },
      concurrent: { spawnWallMs: round(burstWall), spawnEachMs: summary(burst.map((b) => b.ms)), distinctPorts: ports.size, stopWallMs: round(burstStopWall) },
      sampleContainersMs: { sessions0: summary(idleSample), [`sessions${N}`]: summary(busySample) },
      backgroundUsageRefreshMs: summary(refresh),
    };
    const outDir = path.join(ROOT, 'bench', 'results');
    fs.mkdirSync(outDir, { recursive: true });
    const file = path.join(outDir, `containers-${result.date.replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, JSON.stringify(result, null, 2));

    const row = (/** @type {string} */ name, /** @type {ReturnType<typeof summary>} */ s) => `| ${name} | ${s.n} | ${s.p50} | ${s.p95} | ${s.min} | ${s.max} |`;
    console.log(`\nengine ${result.engine.version} (API ${result.engine.api}, ${result.engine.storage}), ${result.host.cpus} CPUs, load ${result.host.loadBefore} → ${result.host.loadAfter}, image ${IMAGE}\n`);
    console.log('| operation (HTTP, one after another) | n | p50 ms | p95 ms | min ms | max ms |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    console.log(row('spawn (POST /api/v1/containers)', result.sequentialMs.spawn));
    console.log(row('stop (POST …/:id/stop)', result.sequentialMs.stop));
    console.log(row('start (POST …/:id/start)', result.sequentialMs.start));
    console.log(row('delete (DELETE …/:id)', result.sequentialMs.remove));
    console.log(row(`spawn, ${N} at once (each)`, result.concurrent.spawnEachMs));
    console.log(row('engine only: create + start (dockerode)', result.engineOnlyMs.createStart));
    console.log(row('engine only: stop (dockerode)', result.engineOnlyMs.stop));
    console.log(`\n${N} spawns at once: ${result.concurrent.spawnWallMs} ms wall, ${ports.size} distinct ports; ${N} stops at once: ${result.concurrent.stopWallMs} ms wall`);
    console.log(`sampleContainers (on the sample's path): p50 ${result.sampleContainersMs.sessions0.p50} ms with no sessions, ${summary(busySample).p50} ms with ${N} running`);
    console.log(`background stats refresh for ${N} running sessions: p50 ${result.backgroundUsageRefreshMs.p50} ms`);
    console.log(`\nJSON: ${path.relative(ROOT, file)}`);
  } finally {
    await cleanup();
    server.close();
    await sampler.stop();
    await audit.close();
    fs.rmSync(auditDir, { recursive: true, force: true });
  }
}

function gitHead() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
