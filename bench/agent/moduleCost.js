// @ts-check
'use strict';
/**
 * What loading each of the agent's dependencies costs in memory: each is
 * required in a fresh node process (resolved from packages/agent, as the
 * agent resolves it), then GC runs and RSS / V8 heap are read. Explains the
 * agent's idle RSS without touching the agent's code.
 *
 *   node bench/agent/moduleCost.js [agent package dir]
 */
const { execFileSync } = require('node:child_process');
const { readdirSync } = require('node:fs');
const path = require('node:path');

const DEFAULT_AGENT_DIR = path.resolve(__dirname, '..', '..', 'packages', 'agent');

const MODULES = ['express', 'pino', 'prom-client', 'zod', 'systeminformation', 'dockerode', '@viworks/protocol'];

/**
 * @param {string} agentDir
 * @param {string[]} requires
 * @returns {{ rssKb: number, heapUsedKb: number, externalKb: number, modules: number }}
 */
function measure(agentDir, requires) {
  // The 200 ms wait lets modules finish async start-up work (ssh2, pulled in
  // by dockerode, instantiates a 16 MB WebAssembly memory that way).
  const script = `
    for (const m of ${JSON.stringify(requires)}) require(m);
    setTimeout(() => {
      globalThis.gc(); globalThis.gc();
      const u = process.memoryUsage();
      process.stdout.write(JSON.stringify({ rssKb: Math.round(u.rss / 1024), heapUsedKb: Math.round(u.heapUsed / 1024), externalKb: Math.round(u.external / 1024), modules: Object.keys(require.cache).length }));
    }, 200);`;
  const out = execFileSync(process.execPath, ['--expose-gc', '-e', script], { cwd: agentDir, encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(out);
}

/**
 * Median of three fresh processes per row: RSS of a small process varies by ~1 MB.
 * @param {string} agentDir
 * @param {string[]} requires
 */
function median3(agentDir, requires) {
  const runs = [measure(agentDir, requires), measure(agentDir, requires), measure(agentDir, requires)];
  /** @param {'rssKb'|'heapUsedKb'|'externalKb'|'modules'} k */
  const med = (k) => runs.map((r) => r[k]).sort((a, b) => a - b)[1];
  return { rssKb: med('rssKb'), heapUsedKb: med('heapUsedKb'), externalKb: med('externalKb'), modules: med('modules') };
}

/** Every compiled file of the agent but main.js, which would start it. */
function distFiles(/** @type {string} */ agentDir) {
  const dist = path.join(agentDir, 'dist');
  return readdirSync(dist, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.js') && f !== 'main.js')
    .map((f) => `./dist/${f.split(path.sep).join('/')}`);
}

/**
 * Per dependency: its cost alone in a fresh process, and its marginal heap
 * and module count (all dependencies minus all but it): what removing it
 * would save.
 * @param {string} [agentDir]
 */
function moduleCost(agentDir = DEFAULT_AGENT_DIR) {
  const bare = median3(agentDir, []);
  const all = median3(agentDir, MODULES);
  const rows = MODULES.map((m) => {
    const alone = median3(agentDir, [m]);
    // Heap after GC is steady enough for one run; RSS differences of a few
    // MB between processes are noise, so no marginal RSS is reported.
    const without = measure(agentDir, MODULES.filter((x) => x !== m));
    return {
      module: m,
      modulesLoaded: alone.modules - bare.modules,
      aloneRssDeltaKb: alone.rssKb - bare.rssKb,
      aloneHeapDeltaKb: alone.heapUsedKb - bare.heapUsedKb,
      marginalModules: all.modules - without.modules,
      marginalHeapKb: all.heapUsedKb - without.heapUsedKb,
      marginalExternalKb: all.externalKb - without.externalKb,
    };
  });
  const everything = median3(agentDir, [...MODULES, ...distFiles(agentDir)]);
  return {
    bare,
    all,
    allWithAgentDist: { ...everything, rssDeltaKb: everything.rssKb - bare.rssKb, heapDeltaKb: everything.heapUsedKb - bare.heapUsedKb },
    rows,
  };
}

module.exports = { moduleCost };

if (require.main === module) {
  const r = moduleCost(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  const mb = (/** @type {number} */ kb) => (kb / 1024).toFixed(1).padStart(6);
  console.log(`bare node: RSS ${mb(r.bare.rssKb)} MB, heap ${mb(r.bare.heapUsedKb)} MB, ${r.bare.modules} modules`);
  console.log(`all deps:  RSS ${mb(r.all.rssKb)} MB, heap ${mb(r.all.heapUsedKb)} MB, external ${mb(r.all.externalKb)} MB, ${r.all.modules} modules`);
  console.log(`+ agent dist: RSS ${mb(r.allWithAgentDist.rssKb)} MB, heap ${mb(r.allWithAgentDist.heapUsedKb)} MB, external ${mb(r.allWithAgentDist.externalKb)} MB`);
  console.log('module               alone: modules  +RSS MB  +heap MB | marginal: modules  heap MB  external MB');
  for (const row of r.rows) {
    console.log(`${row.module.padEnd(20)} ${String(row.modulesLoaded).padStart(14)}   ${mb(row.aloneRssDeltaKb)}    ${mb(row.aloneHeapDeltaKb)} | ${String(row.marginalModules).padStart(17)}   ${mb(row.marginalHeapKb)}       ${mb(row.marginalExternalKb)}`);
  }
}
