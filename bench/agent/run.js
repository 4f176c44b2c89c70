#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Benchmarks the real agent on loopback and checks the issue's targets:
 *   idle RSS and idle (sampling) CPU over a window with no requests, against
 *   bare-node baselines measured in the same window; RSS after 10,000
 *   requests; max throughput of /api/v1/status, /api/v1/status-simple and
 *   /metrics; latency at a fixed 1,000 req/s (autocannon overallRate and an
 *   evenly paced open-loop generator); a plain node:http reference server.
 * Prints a table and writes JSON to bench/results/ (git-ignored).
 *
 *   npx tsc -b && node bench/agent/run.js            # the working tree's build
 *   node bench/agent/run.js --commit HEAD            # a clean build of one commit
 *   node bench/agent/run.js --help
 */
const { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } = require('node:fs');
const { execFileSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { buildAt, describeSource } = require('./checkout');
const { liveHeap } = require('./heapSnapshot');
const { runAutocannon, runPaced } = require('./load');
const { moduleCost } = require('./moduleCost');
const { CLOCK_TICKS, readMemory, startCpuWindow } = require('./proc');
const { AGENT_MAIN, ROOT, get, killAllSync, startAgent, startBareNode, startNodeWithLoopMonitor, startReference, stop } = require('./processes');

const TARGETS = { fixedRateP99Ms: 5, rssAfter10kMb: 80, samplingCpuPercent: 1 };

const HELP = `node bench/agent/run.js [options]
  --agent <main.js>     agent entry point (default packages/agent/dist/main.js)
  --commit <rev>        build <rev> in a temp folder and benchmark that instead
  --env KEY=VALUE       extra environment for the agent (repeatable), e.g. to
                        turn off auth or raise a rate limit once those exist
  --header 'K: V'       extra request header for every load run (repeatable)
  --cpu-window <s>      idle CPU window, default 60
  --duration <s>        length of the throughput and fixed-rate runs, default 10
  --quick               15 s CPU window, 3 s runs: a smoke test, not figures
  --experiments         also: live heap after 0/10k/40k requests (leak check);
                        p99 at 1,000 req/s for node:http, bare Express, the
                        agent with and without sampling; RSS after 10,000
                        requests with V8's young generation capped and/or
                        dockerode replaced (about 4 extra minutes)
  --no-module-cost      skip the per-dependency load-cost table
  --bare                start the agent as plain \`node main.js\`, without the node
                        flags and environment of its package's launch.json
                        (which the shipped launchers use)`;

const { values: args } = parseArgs({
  options: {
    agent: { type: 'string' },
    commit: { type: 'string' },
    env: { type: 'string', multiple: true, default: [] },
    header: { type: 'string', multiple: true, default: [] },
    'cpu-window': { type: 'string', default: '60' },
    duration: { type: 'string', default: '10' },
    quick: { type: 'boolean', default: false },
    experiments: { type: 'boolean', default: false },
    'no-module-cost': { type: 'boolean', default: false },
    bare: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(HELP);
  process.exit(0);
}
const cpuWindowS = args.quick ? 15 : Number(args['cpu-window']);
const durationS = args.quick ? 3 : Number(args.duration);
if (!(cpuWindowS >= 1 && cpuWindowS <= 600) || !(durationS >= 1 && durationS <= 120)) {
  console.error('--cpu-window must be 1-600 s and --duration 1-120 s');
  process.exit(2);
}
/** @type {Record<string, string>} */
const agentEnv = Object.fromEntries(
  (args.env ?? []).map((kv) => {
    const eq = kv.indexOf('=');
    if (eq < 1) throw new Error(`--env wants KEY=VALUE, got "${kv}"`);
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  }),
);
/** @type {Record<string, string>} */
const headers = Object.fromEntries(
  (args.header ?? []).map((h) => {
    const colon = h.indexOf(':');
    if (colon < 1) throw new Error(`--header wants 'Name: value', got "${h}"`);
    return [h.slice(0, colon).trim(), h.slice(colon + 1).trim()];
  }),
);

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
const mb = (/** @type {number} */ kb) => Math.round((kb / 1024) * 10) / 10;
const round2 = (/** @type {number} */ n) => Math.round(n * 100) / 100;
const log = (/** @type {string} */ msg) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

/** Busy share of all host CPUs from /proc/stat: how noisy the machine was. */
function hostCpuTimes() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { idle, total: f.slice(0, 8).reduce((a, b) => a + b, 0) };
}

/** Measures host busy % between start() and the returned function's call. */
function hostBusy() {
  const a = hostCpuTimes();
  return () => {
    const b = hostCpuTimes();
    return Math.round((1 - (b.idle - a.idle) / (b.total - a.total)) * 1000) / 10;
  };
}

/** A few gauges from the agent's own /metrics (prom-client default metrics). */
async function agentSelfMetrics(/** @type {string} */ base) {
  const { status, body } = await get(`${base}/metrics`, 5000, headers);
  if (status !== 200) return { error: `/metrics answered ${status}` };
  /** @param {string} name */
  const value = (name) => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(body);
    return m ? Number(m[1]) : null;
  };
  const toMb = (/** @type {number | null} */ b) => (b === null ? null : Math.round((b / 1024 ** 2) * 10) / 10);
  const count = value('viworks_agent_sample_duration_seconds_count');
  const sum = value('viworks_agent_sample_duration_seconds_sum');
  /** @type {Record<string, number | null>} */
  const spaces = {};
  for (const m of body.matchAll(/^viworks_agent_nodejs_heap_space_size_total_bytes\{space="([a-z_]+)"\} ([0-9.e+-]+)$/gm)) {
    if (Number(m[2]) > 0) spaces[String(m[1])] = toMb(Number(m[2]));
  }
  return {
    heapUsedMb: toMb(value('viworks_agent_nodejs_heap_size_used_bytes')),
    heapTotalMb: toMb(value('viworks_agent_nodejs_heap_size_total_bytes')),
    heapSpaceTotalMb: spaces,
    externalMb: toMb(value('viworks_agent_nodejs_external_memory_bytes')),
    samples: count,
    meanSampleMs: count && sum !== null ? Math.round((sum / count) * 1000 * 10) / 10 : null,
  };
}

/**
 * RSS of a fresh agent after exactly 10,000 /api/v1/status requests.
 * @param {string} agentMain
 * @param {string[]} nodeArgs
 */
async function rssAfter10k(agentMain, nodeArgs) {
  const agent = await startAgent({ main: agentMain, nodeArgs, env: agentEnv, headers });
  try {
    await sleep(2000);
    const idleKb = readMemory(agent.pid).vmRssKb;
    const run = await runAutocannon({ url: `${agent.base}/api/v1/status`, connections: 10, amount: 10_000, headers });
    return { nodeArgs, idleRssMb: mb(idleKb), after10kRssMb: mb(readMemory(agent.pid).vmRssKb), reqPerSec: run.reqPerSec, non2xx: run.non2xx, errors: run.errors };
  } finally {
    await stop(agent);
  }
}

/**
 * Live heap (after a full GC, from heap snapshots) of one agent at idle,
 * after 10,000 and after 40,000 requests: flat means no leak.
 * @param {string} agentMain
 */
async function leakCheck(agentMain) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'viworks-bench-heap-'));
  const agent = await startAgent({ main: agentMain, nodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`], env: agentEnv, headers });
  const snapshot = async () => {
    if (agent.child.exitCode !== null || agent.child.signalCode !== null) {
      throw new Error(`agent exited (${agent.child.exitCode ?? agent.child.signalCode}) during the leak check:\n${agent.output()}`);
    }
    return liveHeap(agent.pid, dir);
  };
  try {
    await sleep(2000);
    const points = [{ requests: 0, ...(await snapshot()) }];
    let requests = 0;
    for (const amount of [10_000, 30_000]) {
      const run = await runAutocannon({ url: `${agent.base}/api/v1/status`, connections: 10, amount, headers });
      requests += run.requests;
      points.push({ requests, ...(await snapshot()) });
    }
    return points;
  } finally {
    await stop(agent);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const startedAt = new Date();
  /** @type {Record<string, any>} */
  const result = {
    startedAt: startedAt.toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memGb: Math.round(os.totalmem() / 1024 ** 3),
      node: process.version,
      kernel: os.release(),
      loadavgAtStart: os.loadavg().map(round2),
    },
    settings: { cpuWindowS, durationS, quick: args.quick, agentEnv, headerNames: Object.keys(headers), sampleIntervalMs: agentEnv.AGENT_SAMPLE_INTERVAL_MS ?? 'default (5000)', clockTicks: CLOCK_TICKS },
  };

  let agentMain = args.agent ? path.resolve(args.agent) : AGENT_MAIN;
  if (args.commit) {
    log(`building ${args.commit} in a temporary folder`);
    const built = buildAt(args.commit);
    agentMain = built.agentMain;
    result.source = { commit: built.commit, builtIn: built.dir };
  } else {
    if (!existsSync(agentMain)) throw new Error(`${agentMain} is missing: run \`npx tsc -b\` first`);
    result.source = describeSource(agentMain);
  }
  const agentDir = path.dirname(path.dirname(agentMain));
  // The agent is measured as it is shipped: with the node flags and environment
  // its launchers take from launch.json (older commits have none).
  const launchFile = path.join(agentDir, 'launch.json');
  /** @type {{ nodeArgs: string[], env: Record<string, string> }} */
  const launch = !args.bare && existsSync(launchFile) ? JSON.parse(readFileSync(launchFile, 'utf8')) : { nodeArgs: [], env: {} };
  result.settings.launch = launch;
  const mainEnv = { ...launch.env, ...agentEnv };
  const bodyFile = path.join(os.tmpdir(), `viworks-bench-status-${process.pid}.json`);
  process.on('exit', () => rmSync(bodyFile, { force: true }));

  // Diagnostics first, while none of our servers run.
  if (!args['no-module-cost']) {
    log('what each dependency costs to load (fresh node processes)');
    result.moduleCost = moduleCost(agentDir);
  }
  log('what each sampling step costs (in a separate process)');
  result.sampleCost = JSON.parse(
    execFileSync(process.execPath, [path.join(__dirname, 'sampleCost.js'), '--json', '--calls', '10', '--dist', path.dirname(agentMain)], { encoding: 'utf8', timeout: 120_000 }),
  );

  log(`starting the agent (${path.relative(ROOT, agentMain) || agentMain}) and two idle baselines`);
  const bare = startBareNode();
  const loopMonitor = startNodeWithLoopMonitor();
  log(`agent launch: node ${[...launch.nodeArgs, '…'].join(' ')} ${Object.entries(launch.env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const agent = await startAgent({ main: agentMain, nodeArgs: launch.nodeArgs, env: mainEnv, headers });
  let agentStopped = false;
  try {
    result.agentReadyMs = Math.round(agent.readyMs);
    const status = await get(`${agent.base}/api/v1/status`, 2000, headers);
    if (status.status !== 200) throw new Error(`/api/v1/status answered ${status.status}: ${status.body.slice(0, 300)} (auth or rate limit? see --env/--header)`);
    result.statusBodyBytes = Buffer.byteLength(status.body);
    await sleep(1000);
    result.idle = { agent: readMemory(agent.pid), bareNode: readMemory(bare.pid) };

    // Sampling CPU: no requests at all during the window.
    log(`idle window: ${cpuWindowS} s, no requests`);
    const busy = hostBusy();
    const win = startCpuWindow({ agent: agent.pid, bareNode: bare.pid, nodeWithLoopMonitor: loopMonitor.pid });
    await sleep(cpuWindowS * 1000);
    result.idleCpu = { ...win.end(), hostBusyPercentAllCores: busy() };
    result.idleEnd = { agent: readMemory(agent.pid), bareNode: readMemory(bare.pid) };
    await Promise.all([stop(bare), stop(loopMonitor)]);
    // Scraped after the window so that the scrape is not billed to sampling.
    result.afterIdleSelfMetrics = await agentSelfMetrics(agent.base);

    // RSS after exactly 10,000 requests.
    const statusUrl = `${agent.base}/api/v1/status`;
    log('10,000 requests to /api/v1/status, 10 connections');
    result.tenK = await runAutocannon({ url: statusUrl, connections: 10, amount: 10_000, headers });
    result.tenK.memory = readMemory(agent.pid);
    await sleep(5000);
    result.tenK.memoryAfter5sIdle = readMemory(agent.pid);
    result.tenK.selfMetrics = await agentSelfMetrics(agent.base);

    // Max throughput; the 10,000 requests above warmed the JIT.
    const shortS = Math.max(1, Math.round(durationS / 2));
    log(`max throughput /api/v1/status: ${durationS} s, 10 connections`);
    let stopBusy = hostBusy();
    result.maxStatus = await runAutocannon({ url: statusUrl, connections: 10, durationS, headers });
    result.maxStatus.hostBusyPercentAllCores = stopBusy();
    await sleep(1000);
    log(`max throughput /api/v1/status-simple and /metrics: ${shortS} s each`);
    result.maxStatusSimple = await runAutocannon({ url: `${agent.base}/api/v1/status-simple`, connections: 10, durationS: shortS, headers });
    await sleep(1000);
    result.maxMetrics = await runAutocannon({ url: `${agent.base}/metrics`, connections: 10, durationS: shortS, headers });
    await sleep(1000);

    // 1,000 req/s: autocannon overallRate (bursty), then evenly paced.
    log(`1,000 req/s for ${durationS} s: autocannon overallRate, 10 connections`);
    stopBusy = hostBusy();
    result.fixedRateAutocannon = await runAutocannon({ url: statusUrl, connections: 10, durationS, overallRate: 1000, headers });
    result.fixedRateAutocannon.hostBusyPercentAllCores = stopBusy();
    await sleep(1000);
    log(`1,000 req/s for ${durationS} s: evenly paced, open loop`);
    stopBusy = hostBusy();
    result.fixedRatePaced = await runPaced({ url: statusUrl, rate: 1000, durationS, headers });
    result.fixedRatePaced.hostBusyPercentAllCores = stopBusy();

    result.end = { agent: readMemory(agent.pid), selfMetrics: await agentSelfMetrics(agent.base) };
    result.totalRequests = ['tenK', 'maxStatus', 'maxStatusSimple', 'maxMetrics', 'fixedRateAutocannon', 'fixedRatePaced'].reduce((n, k) => n + result[k].requests, 0);
    await stop(agent);
    agentStopped = true;

    // The floor: plain node:http serving the same body, same client settings.
    log(`reference: plain node:http with the same body, ${shortS} s`);
    writeFileSync(bodyFile, status.body);
    const ref = await startReference(bodyFile);
    try {
      result.reference = await runAutocannon({ url: `${ref.base}/api/v1/status`, connections: 10, durationS: shortS });
      await sleep(1000);
      log(`reference: 1,000 req/s evenly paced, ${durationS} s`);
      result.referencePaced = await runPaced({ url: `${ref.base}/api/v1/status`, rate: 1000, durationS });
    } finally {
      await stop(ref);
    }
  } finally {
    if (!agentStopped) await stop(agent);
  }

  if (args.experiments) {
    // What sets p99 at 1,000 req/s: the machine and node:http, Express, the
    // agent's handlers, or the event-loop stalls of sampling? Same pacer,
    // same body, one after another, two rounds.
    result.latencyLadder = [];
    for (let round = 0; round < 2; round++) {
      for (const rung of ['plain node:http', 'minimal Express', 'agent, sampling every 1 h', 'agent, sampling every 5 s']) {
        log(`experiment: 1,000 req/s paced for ${durationS} s against ${rung}`);
        const server = rung.startsWith('agent')
          ? await startAgent({ main: agentMain, env: { ...agentEnv, AGENT_SAMPLE_INTERVAL_MS: rung.endsWith('1 h') ? '3600000' : '5000' }, headers })
          : await startReference(bodyFile, { express: rung === 'minimal Express', agentDir });
        try {
          await sleep(1000);
          const run = await runPaced({ url: `${server.base}/api/v1/status`, rate: 1000, durationS, headers: rung.startsWith('agent') ? headers : {} });
          result.latencyLadder.push({ round, server: rung, ok: run.ok, failed: run.non2xx + run.errors, fromDueMs: run.latencyFromDueMs });
        } finally {
          await stop(server);
        }
      }
    }
    const lite = path.join(__dirname, 'preloadDockerodeLite.js');
    const variants = [[], ['--max-semi-space-size=1'], ['-r', lite], ['--max-semi-space-size=1', '-r', lite]];
    log('experiment: live heap after 0, 10,000 and 40,000 requests (heap snapshots)');
    result.leakCheck = await leakCheck(agentMain);
    result.experiments = [];
    // Two rounds, so each variant is seen at two moments of a noisy machine.
    for (let round = 0; round < 2; round++) {
      for (const nodeArgs of variants) {
        log(`experiment: RSS after 10,000 requests with node ${nodeArgs.map((a) => path.basename(a)).join(' ') || '(defaults)'}`);
        result.experiments.push(await rssAfter10k(agentMain, nodeArgs));
      }
    }
  }

  result.finishedAt = new Date().toISOString();
  result.verdicts = verdicts(result);
  printReport(result);
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `agent-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote ${path.relative(ROOT, file)}`);
}

/** @param {Record<string, any>} r */
function verdicts(r) {
  const runs = ['tenK', 'maxStatus', 'maxStatusSimple', 'maxMetrics', 'fixedRateAutocannon', 'fixedRatePaced'];
  const failedRequests = runs.reduce((n, k) => n + r[k].non2xx + r[k].errors + (r[k].timeouts ?? 0), 0);
  const agentCpu = r.idleCpu.byName.agent.totalPercent;
  const net = agentCpu - r.idleCpu.byName.bareNode.totalPercent;
  const rss = mb(r.tenK.memory.vmRssKb);
  return {
    // Any 4xx/5xx (auth, rate limiting) would make the latencies meaningless.
    allRequestsOk: { value: failedRequests, target: '0 failed', met: failedRequests === 0 },
    fixedRateP99Autocannon: { value: r.fixedRateAutocannon.latencyMs.p99, target: `< ${TARGETS.fixedRateP99Ms} ms`, met: r.fixedRateAutocannon.latencyMs.p99 < TARGETS.fixedRateP99Ms },
    fixedRateP99Paced: { value: r.fixedRatePaced.latencyFromDueMs.p99, target: `< ${TARGETS.fixedRateP99Ms} ms`, met: r.fixedRatePaced.latencyFromDueMs.p99 < TARGETS.fixedRateP99Ms },
    rssAfter10k: { value: rss, target: `< ${TARGETS.rssAfter10kMb} MB`, met: rss < TARGETS.rssAfter10kMb },
    samplingCpu: { value: round2(agentCpu), target: `< ${TARGETS.samplingCpuPercent} %`, met: agentCpu < TARGETS.samplingCpuPercent },
    samplingCpuNetOfBaseline: { value: round2(net), target: `< ${TARGETS.samplingCpuPercent} %`, met: net < TARGETS.samplingCpuPercent },
  };
}

/** @param {Record<string, any>} r */
function printReport(r) {
  const v = r.verdicts;
  const yes = (/** @type {boolean} */ b) => (b ? 'yes' : 'NO');
  const lat = (/** @type {any} */ l) => `p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms`;
  const cpu = (/** @type {any} */ c) => `${round2(c.totalPercent)} % (own ${round2(c.selfPercent)}, children ${round2(c.childPercent)})`;
  /** @type {Array<[string, string, string, string]>} */
  const rows = [
    ['requests that failed (non-2xx, errors)', String(v.allRequestsOk.value), v.allRequestsOk.target, yes(v.allRequestsOk.met)],
    ['/api/v1/status max, 10 conn', `${r.maxStatus.reqPerSec} req/s, ${lat(r.maxStatus.latencyMs)}`, '-', '-'],
    ['/api/v1/status-simple max, 10 conn', `${r.maxStatusSimple.reqPerSec} req/s, ${lat(r.maxStatusSimple.latencyMs)}`, '-', '-'],
    ['/metrics max, 10 conn', `${r.maxMetrics.reqPerSec} req/s, ${lat(r.maxMetrics.latencyMs)}`, '-', '-'],
    ['reference node:http, same body', `${r.reference.reqPerSec} req/s, ${lat(r.reference.latencyMs)}`, '-', '-'],
    ['1,000 req/s autocannon overallRate', lat(r.fixedRateAutocannon.latencyMs), v.fixedRateP99Autocannon.target, yes(v.fixedRateP99Autocannon.met)],
    ['1,000 req/s paced, from due time', lat(r.fixedRatePaced.latencyFromDueMs), v.fixedRateP99Paced.target, yes(v.fixedRateP99Paced.met)],
    ['1,000 req/s paced, from send', lat(r.fixedRatePaced.latencyFromSentMs), '-', '-'],
    ['reference at 1,000 req/s paced, from due', lat(r.referencePaced.latencyFromDueMs), '-', '-'],
    ['RSS idle: agent / bare node', `${mb(r.idle.agent.vmRssKb)} MB / ${mb(r.idle.bareNode.vmRssKb)} MB (agent ${mb(r.idleEnd.agent.vmRssKb)} MB after the idle window)`, '-', '-'],
    ['RSS after 10,000 requests', `${mb(r.tenK.memory.vmRssKb)} MB (5 s later ${mb(r.tenK.memoryAfter5sIdle.vmRssKb)} MB)`, v.rssAfter10k.target, yes(v.rssAfter10k.met)],
    ['RSS at end / peak (VmHWM)', `${mb(r.end.agent.vmRssKb)} MB / ${mb(r.end.agent.vmHwmKb)} MB after ${r.totalRequests} requests`, '-', '-'],
    [`idle CPU over ${Math.round(r.idleCpu.seconds)} s: agent`, cpu(r.idleCpu.byName.agent), v.samplingCpu.target, yes(v.samplingCpu.met)],
    ['idle CPU: bare node', cpu(r.idleCpu.byName.bareNode), '-', '-'],
    ['idle CPU: node + 10 ms loop monitor', cpu(r.idleCpu.byName.nodeWithLoopMonitor), '-', '-'],
    ['idle CPU: agent minus bare node', `${v.samplingCpuNetOfBaseline.value} %`, v.samplingCpuNetOfBaseline.target, yes(v.samplingCpuNetOfBaseline.met)],
    ['host busy (all cores): idle window / max run', `${r.idleCpu.hostBusyPercentAllCores} % / ${r.maxStatus.hostBusyPercentAllCores} %`, '-', '-'],
  ];
  const heads = ['measure', 'result', 'target', 'met'];
  const w = heads.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (/** @type {string[]} */ cells) => cells.map((c, i) => c.padEnd(w[i])).join(' | ');
  console.log(`agent: ${r.source.commit ? `commit ${r.source.commit.slice(0, 12)}` : ''}${r.source.uncommittedAgentChanges ? ` + ${r.source.uncommittedAgentChanges} uncommitted changes under packages/agent|protocol` : ''}  (${r.source.agentMain ?? r.source.builtIn})`);
  console.log(line(heads));
  console.log(w.map((n) => '-'.repeat(n)).join('-|-'));
  for (const row of rows) console.log(line(row));
  const m = r.tenK.selfMetrics;
  console.log(`\nafter 10,000 requests the agent reports: heap used ${m.heapUsedMb} MB of ${m.heapTotalMb} MB (${Object.entries(m.heapSpaceTotalMb).map(([k, x]) => `${k} ${x}`).join(', ')}), external ${m.externalMb} MB`);
  const t = r.tenK.memory;
  console.log(`RSS split after 10,000 requests: anon ${mb(t.rssAnonKb)} MB, file-backed ${mb(t.rssFileKb)} MB (bare node: anon ${mb(r.idle.bareNode.rssAnonKb)}, file ${mb(r.idle.bareNode.rssFileKb)})`);
  console.log(`samples taken ${r.end.selfMetrics.samples}, mean duration ${r.end.selfMetrics.meanSampleMs} ms (includes the first, with the inventory)`);
  console.log(`\nper sampling step (${r.sampleCost.processes} processes on the host), mean per call:`);
  for (const s of r.sampleCost.rows) console.log(`  ${s.step.padEnd(56)} own CPU ${String(s.selfCpuMs).padStart(5)} ms, children ${String(s.childCpuMs).padStart(4)} ms, worst event-loop stall ${s.worstLoopStallMs} ms`);
  if (r.moduleCost) {
    const c = r.moduleCost;
    console.log(`\nloading only (fresh node, after GC): bare ${mb(c.bare.rssKb)} MB; agent's dependencies ${mb(c.all.rssKb)} MB; + agent code ${mb(c.allWithAgentDist.rssKb)} MB`);
    for (const row of c.rows) console.log(`  ${row.module.padEnd(20)} alone: ${String(row.modulesLoaded).padStart(3)} modules, +${mb(row.aloneRssDeltaKb)} MB RSS, +${mb(row.aloneHeapDeltaKb)} MB heap; marginal: ${row.marginalModules} modules, ${mb(row.marginalHeapKb)} MB heap, ${mb(row.marginalExternalKb)} MB external`);
  }
  if (r.leakCheck) {
    console.log('\nlive heap after a full GC (heap snapshot):');
    for (const p of r.leakCheck) console.log(`  after ${String(p.requests).padStart(6)} requests: JS heap ${p.liveHeapMb} MB, native ${p.nativeMb} MB; biggest: ${p.top.slice(0, 5).map((/** @type {any} */ t) => `${t.name} ${t.mb}`).join(', ')}`);
  }
  if (r.latencyLadder) {
    console.log('\nexperiment, 1,000 req/s evenly paced, latency from due time:');
    for (const e of r.latencyLadder) console.log(`  ${e.server.padEnd(26)} p50 ${e.fromDueMs.p50} ms, p99 ${e.fromDueMs.p99} ms, p99.9 ${e.fromDueMs.p999} ms, max ${e.fromDueMs.max} ms${e.failed ? `, ${e.failed} FAILED` : ''}`);
  }
  if (r.experiments) {
    console.log('\nexperiments, RSS after 10,000 requests on a fresh agent:');
    for (const e of r.experiments) console.log(`  node ${(e.nodeArgs.map((/** @type {string} */ a) => path.basename(a)).join(' ') || '(defaults)').padEnd(55)} idle ${e.idleRssMb} MB, after ${e.after10kRssMb} MB${e.non2xx + e.errors ? `, ${e.non2xx + e.errors} FAILED` : ''}`);
  }
}

let stopping = false;
for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: stopping children`);
    killAllSync();
    process.exit(130);
  });
}
process.on('exit', killAllSync);

main().catch((err) => {
  console.error(err);
  killAllSync();
  process.exitCode = 1;
});
