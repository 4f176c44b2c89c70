#!/usr/bin/env node
// `npm start`: the whole product on one machine with nothing to install.
// Starts an agent on this host and a collector (embedded PGlite store unless
// DATABASE_URL is set) that polls it, waits until both answer, and says where.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const agentPort = Number(process.env.AGENT_PORT || 8210);
const collectorPort = Number(process.env.COLLECTOR_PORT || 8220);
const host = '127.0.0.1';
const logLevel = process.env.LOG_LEVEL || 'warn';

const children = [];
let stopping = false;

// The agent is meant to stay small: see packages/agent/src/memoryFlags.ts.
// The agent's node flags and environment (memory tuning) live with the agent.
const agentLaunch = require(path.join(root, 'packages', 'agent', 'launch.json'));
const NODE_FLAGS = { agent: agentLaunch.nodeArgs, collector: [] };
const NODE_ENV = { agent: agentLaunch.env, collector: {} };

function start(name, script, env) {
  const child = spawn(process.execPath, [...NODE_FLAGS[name], path.join(root, script)], {
    cwd: root,
    env: { ...NODE_ENV[name], ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`[viworks] ${name} exited (${signal || code}); stopping.`);
    stop(code || 1);
  });
  children.push(child);
  return child;
}

function stop(code) {
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500).unref();
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() => process.exit(code));
}

async function waitFor(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

/**
 * The demo's own credential: the agent is secure by default and will not start
 * without a key. The key's hash goes in the agent's key file; the key itself
 * goes, 0600, in the collector's agents file. It is never printed in full.
 */
function demoCredentials(dataDir) {
  const agentDir = path.join(dataDir, 'agent');
  const keysFile = path.join(agentDir, 'keys.json');
  const keyFile = path.join(agentDir, 'demo.key');
  if (!fs.existsSync(keyFile) || !fs.existsSync(keysFile)) {
    const { addKey } = require(path.join(root, 'packages/agent/dist/keygen.js'));
    fs.rmSync(keysFile, { force: true });
    const key = addKey(keysFile, 'local-collector', 'admin');
    fs.writeFileSync(keyFile, key + '\n', { mode: 0o600 });
  }
  const key = fs.readFileSync(keyFile, 'utf8').trim();
  const agentsFile = path.join(dataDir, 'collector', 'agents.json');
  fs.mkdirSync(path.dirname(agentsFile), { recursive: true });
  fs.writeFileSync(agentsFile, JSON.stringify([{ id: 'local', url: `http://${host}:${agentPort}`, token: key }], null, 2), { mode: 0o600 });
  return { keysFile, keyFile, agentsFile, shown: `${key.slice(0, 8)}…` };
}

async function main() {
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));

  const dataDir = path.join(root, 'data');
  const creds = demoCredentials(dataDir);

  start('agent', 'packages/agent/dist/main.js', {
    AGENT_HOST: host,
    AGENT_PORT: String(agentPort),
    AGENT_DATA_DIR: path.join(dataDir, 'agent'),
    AGENT_KEYS_FILE: creds.keysFile,
    AGENT_LOG_LEVEL: process.env.AGENT_LOG_LEVEL || logLevel,
  });
  await waitFor(`http://${host}:${agentPort}/api/v1/health`, 30_000);

  start('collector', 'packages/collector/dist/main.js', {
    COLLECTOR_HOST: host,
    COLLECTOR_PORT: String(collectorPort),
    COLLECTOR_DATA_DIR: process.env.COLLECTOR_DATA_DIR || path.join(dataDir, 'collector'),
    COLLECTOR_AGENTS_FILE: creds.agentsFile,
    COLLECTOR_LOG_LEVEL: process.env.COLLECTOR_LOG_LEVEL || logLevel,
  });
  await waitFor(`http://${host}:${collectorPort}/api/v1/health`, 60_000);

  const store = process.env.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${path.join('data', 'collector', 'pglite')}`;
  console.log(`
ViWorks Monitor is running.

  Agent      http://${host}:${agentPort}/api/v1/status   (this host; /metrics for Prometheus)
  Collector  http://${host}:${collectorPort}/api/v1/agents
  Dashboard  http://${host}:${collectorPort}/
  Store      ${store}
  API key    ${creds.shown} (admin; in ${path.relative(root, creds.keyFile)}: curl -H "Authorization: Bearer $(cat ${path.relative(root, creds.keyFile)})" …)

Metrics are polled every 30 s, services every 5 min, inventory every hour
(all three once at start). Press Ctrl+C to stop.
`);
}

main().catch((err) => {
  console.error(`[viworks] ${err.message}`);
  stop(1);
});
