#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Median and range of the key figures over several run.js results, because
 * one run on a shared 2-core machine says little.
 *
 *   node bench/agent/summarise.js [result.json …]   (default: every full run in bench/results)
 */
const { readdirSync, readFileSync } = require('node:fs');
const path = require('node:path');

const dir = path.resolve(__dirname, '..', 'results');
const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync(dir)
      .filter((f) => /^agent-.*\.json$/.test(f))
      .map((f) => path.join(dir, f));
const runs = files.map((f) => ({ file: path.basename(f), r: JSON.parse(readFileSync(f, 'utf8')) })).filter(({ r }) => !r.settings?.quick && r.verdicts);
if (!runs.length) {
  console.error('no full runs found (quick runs are left out)');
  process.exit(1);
}

const mb = (/** @type {number} */ kb) => kb / 1024;
/** @type {Array<[string, (r: any) => number, number]>} label, getter, decimals */
const figures = [
  ['/api/v1/status max req/s', (r) => r.maxStatus.reqPerSec, 0],
  ['/api/v1/status max p50 ms', (r) => r.maxStatus.latencyMs.p50, 2],
  ['/api/v1/status max p99 ms', (r) => r.maxStatus.latencyMs.p99, 2],
  ['/api/v1/status-simple max req/s', (r) => r.maxStatusSimple.reqPerSec, 0],
  ['/metrics max req/s', (r) => r.maxMetrics.reqPerSec, 0],
  ['reference node:http req/s', (r) => r.reference.reqPerSec, 0],
  ['1,000 req/s autocannon p50 ms', (r) => r.fixedRateAutocannon.latencyMs.p50, 2],
  ['1,000 req/s autocannon p99 ms', (r) => r.fixedRateAutocannon.latencyMs.p99, 2],
  ['1,000 req/s autocannon max ms', (r) => r.fixedRateAutocannon.latencyMs.max, 1],
  ['1,000 req/s paced p50 ms (from due)', (r) => r.fixedRatePaced.latencyFromDueMs.p50, 2],
  ['1,000 req/s paced p99 ms (from due)', (r) => r.fixedRatePaced.latencyFromDueMs.p99, 2],
  ['1,000 req/s paced max ms (from due)', (r) => r.fixedRatePaced.latencyFromDueMs.max, 1],
  ['1,000 req/s paced p99 ms (from send)', (r) => r.fixedRatePaced.latencyFromSentMs.p99, 2],
  ['reference at 1,000 req/s paced p99 ms (from due)', (r) => r.referencePaced.latencyFromDueMs.p99, 2],
  ['RSS idle, agent MB', (r) => mb(r.idle.agent.vmRssKb), 1],
  ['RSS idle, agent after idle window MB', (r) => mb(r.idleEnd.agent.vmRssKb), 1],
  ['RSS idle, bare node MB', (r) => mb(r.idle.bareNode.vmRssKb), 1],
  ['RSS after 10,000 requests MB', (r) => mb(r.tenK.memory.vmRssKb), 1],
  ['RSS at end MB', (r) => mb(r.end.agent.vmRssKb), 1],
  ['idle CPU agent % of a core', (r) => r.idleCpu.byName.agent.totalPercent, 2],
  ['idle CPU bare node %', (r) => r.idleCpu.byName.bareNode.totalPercent, 2],
  ['idle CPU node + loop monitor %', (r) => r.idleCpu.byName.nodeWithLoopMonitor?.totalPercent ?? NaN, 2],
  ['idle CPU agent minus bare node %', (r) => r.idleCpu.byName.agent.totalPercent - r.idleCpu.byName.bareNode.totalPercent, 2],
  ['host busy in idle window %', (r) => r.idleCpu.hostBusyPercentAllCores, 1],
  ['host busy in max run %', (r) => r.maxStatus.hostBusyPercentAllCores, 1],
];

const fmt = (/** @type {number} */ n, /** @type {number} */ d) => (Number.isFinite(n) ? n.toFixed(d) : '-');
console.log(`${runs.length} runs: ${runs.map((x) => x.file).join(', ')}`);
console.log(`| figure | median | min | max |\n|---|---|---|---|`);
for (const [label, get, d] of figures) {
  const values = runs
    .map(({ r }) => {
      try {
        return get(r);
      } catch {
        return NaN; // a result from an older version of run.js
      }
    })
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  if (!values.length) continue;
  const median = values.length % 2 ? values[(values.length - 1) / 2] : (values[values.length / 2 - 1] + values[values.length / 2]) / 2;
  console.log(`| ${label} | ${fmt(median, d)} | ${fmt(values[0], d)} | ${fmt(values[values.length - 1], d)} |`);
}
