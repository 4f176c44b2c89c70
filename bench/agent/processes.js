// @ts-check
'use strict';
/**
 * Starts and stops the processes under test: the real agent from
 * packages/agent/dist and a bare node process as a baseline. Every child is
 * remembered so the runner can kill them all on error or Ctrl-C.
 */
const { spawn } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const AGENT_MAIN = path.join(ROOT, 'packages', 'agent', 'dist', 'main.js');

/** @type {Set<import('node:child_process').ChildProcess>} */
const live = new Set();
/** Temporary data folders given to agents, removed when they stop. */
/** @type {Set<string>} */
const tempDirs = new Set();

/** A port nobody listens on right now (the kernel picks it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * @param {string} name
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} env
 */
function startChild(name, args, env) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  // Keep the last few KiB of output for error messages; never grow without bound.
  let output = '';
  const keep = (/** @type {Buffer} */ chunk) => {
    output = (output + chunk.toString('utf8')).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    live.delete(child);
    resolve({ code, signal });
  }));
  return { name, child, pid: /** @type {number} */ (child.pid), exited, output: () => output };
}

/**
 * GET a loopback URL; resolves with status and body (bounded by the caller's timeout).
 * @param {string} url
 * @param {number} timeoutMs
 * @param {Record<string, string>} [headers]
 * @returns {Promise<{ status: number, body: string }>}
 */
function get(url, timeoutMs = 2000, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/**
 * Polls url until ready(status, body) holds; throws with the child's output
 * if it exits first or timeoutMs passes.
 * @param {ReturnType<typeof startChild>} proc
 * @param {string} url
 * @param {(status: number, body: string) => boolean} ready
 * @param {number} timeoutMs
 * @param {Record<string, string>} [headers]
 */
async function waitUntil(proc, url, ready, timeoutMs, headers) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`${proc.name} exited before answering ${url}:\n${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`${proc.name} did not answer ${url} within ${timeoutMs} ms:\n${proc.output()}`);
    try {
      const res = await get(url, 1000, headers);
      if (ready(res.status, res.body)) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts the agent on a free loopback port and waits until /api/v1/health
 * answers "healthy" (the agent only listens after its first sample).
 * @param {{ main?: string, nodeArgs?: string[], env?: Record<string, string>, headers?: Record<string, string>, startTimeoutMs?: number }} [opts]
 */
async function startAgent(opts = {}) {
  const port = await freePort();
  // Agents that keep state (keys, audit log) get a folder of their own, so a
  // run neither reads nor litters the working tree's data/; older agents
  // ignore the variable.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'viworks-bench-agent-data-'));
  tempDirs.add(dataDir);
  /** @type {NodeJS.ProcessEnv} */
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AGENT_LOG_LEVEL: 'warn',
    AGENT_DATA_DIR: dataDir,
    ...opts.env,
    AGENT_HOST: '127.0.0.1',
    AGENT_PORT: String(port),
  };
  const started = process.hrtime.bigint();
  const proc = startChild('agent', [...(opts.nodeArgs ?? []), opts.main ?? AGENT_MAIN], env);
  void proc.exited.then(() => {
    rmSync(dataDir, { recursive: true, force: true });
    tempDirs.delete(dataDir);
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUntil(proc, `${base}/api/v1/health`, (status, body) => status === 200 && JSON.parse(body).status === 'healthy', opts.startTimeoutMs ?? 30_000, opts.headers);
  const readyMs = Number(process.hrtime.bigint() - started) / 1e6;
  return { ...proc, port, base, readyMs };
}

/**
 * referenceServer.js (plain node:http) or expressReference.js on a free
 * loopback port, serving bodyFile at /api/v1/status.
 * @param {string} bodyFile
 * @param {{ express?: boolean, agentDir?: string }} [opts]
 */
async function startReference(bodyFile, opts = {}) {
  const port = await freePort();
  const script = path.join(__dirname, opts.express ? 'expressReference.js' : 'referenceServer.js');
  const args = [script, String(port), bodyFile, ...(opts.express && opts.agentDir ? [opts.agentDir] : [])];
  const proc = startChild(opts.express ? 'express-reference' : 'reference', args, { PATH: process.env.PATH });
  const base = `http://127.0.0.1:${port}`;
  await waitUntil(proc, `${base}/api/v1/status`, (status) => status === 200, 10_000);
  return { ...proc, port, base };
}

/** A node process that does nothing but keep one timer: the floor for RSS and idle CPU. */
function startBareNode() {
  return startChild('bare-node', ['-e', 'setInterval(() => {}, 1000)'], { PATH: process.env.PATH });
}

/**
 * The same, plus the event-loop-delay monitor that prom-client's
 * collectDefaultMetrics() enables (a libuv timer every 10 ms by default):
 * isolates what that monitor alone costs an idle process.
 */
function startNodeWithLoopMonitor() {
  const code = "require('node:perf_hooks').monitorEventLoopDelay({ resolution: 10 }).enable(); setInterval(() => {}, 1000)";
  return startChild('node+loop-monitor', ['-e', code], { PATH: process.env.PATH });
}

/**
 * SIGTERM, then SIGKILL if it has not exited after graceMs.
 * @param {{ child: import('node:child_process').ChildProcess, exited: Promise<unknown> }} proc
 */
async function stop(proc, graceMs = 5000) {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  let timer;
  const killed = new Promise((resolve) => {
    timer = setTimeout(() => {
      proc.child.kill('SIGKILL');
      resolve(undefined);
    }, graceMs);
  });
  await Promise.race([proc.exited, killed]);
  clearTimeout(timer);
  await proc.exited;
}

/** Last resort on error or signal: kill every child still running, by pid. */
function killAllSync() {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

module.exports = { ROOT, AGENT_MAIN, get, startAgent, startReference, startBareNode, startNodeWithLoopMonitor, stop, killAllSync };
