#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Where the agent's sampling CPU goes: calls each step of one sample (as
 * packages/agent/dist/sampling/sampler.js does) in this process, several
 * times, and reports wall time and CPU per call, own and of exec'd children.
 * Complements the whole-process idle CPU window of run.js.
 *
 *   npx tsc -b && node bench/agent/sampleCost.js [--calls 10] [--dist packages/agent/dist] [--json]
 */
const path = require('node:path');
const { parseArgs } = require('node:util');
const { readCpuTicks, CLOCK_TICKS } = require('./proc');

/**
 * @param {string} name
 * @param {() => Promise<unknown>} fn
 * @param {number} calls
 */
async function cost(name, fn, calls) {
  await fn(); // first call warms caches (and currentLoad's first call blocks on purpose)
  let wallMs = 0;
  let selfMs = 0;
  let childMs = 0;
  let worstStallMs = 0;
  for (let i = 0; i < calls; i++) {
    await new Promise((r) => setTimeout(r, 100));
    // A 1 ms timer that notes its own lateness: the longest stretch in which
    // the event loop could not run, i.e. could not answer an HTTP request.
    let last = performance.now();
    let stall = 0;
    const probe = setInterval(() => {
      const now = performance.now();
      stall = Math.max(stall, now - last);
      last = now;
    }, 1);
    const c0 = process.cpuUsage();
    const k0 = readCpuTicks(process.pid).childTicks;
    const t0 = performance.now();
    await fn();
    wallMs += performance.now() - t0;
    const c = process.cpuUsage(c0);
    selfMs += (c.user + c.system) / 1000;
    childMs += ((readCpuTicks(process.pid).childTicks - k0) / CLOCK_TICKS) * 1000;
    await new Promise((r) => setTimeout(r, 5));
    clearInterval(probe);
    worstStallMs = Math.max(worstStallMs, stall);
  }
  const r1 = (/** @type {number} */ n) => Math.round((n / calls) * 10) / 10;
  return { step: name, calls, wallMs: r1(wallMs), selfCpuMs: r1(selfMs), childCpuMs: r1(childMs), worstLoopStallMs: Math.round(worstStallMs * 10) / 10 };
}

/**
 * @param {string} dist the agent's compiled output folder
 * @param {number} calls
 */
async function sampleCost(dist, calls = 10) {
  const host = require(path.join(dist, 'sampling', 'host.js'));
  const processTable = require(path.join(dist, 'sampling', 'processTable.js'));
  const containers = require(path.join(dist, 'sampling', 'containers.js'));
  const services = require(path.join(dist, 'sampling', 'services.js'));
  const { DEFAULT_SERVICES } = require(path.join(dist, 'sampling', 'serviceCatalogue.js'));
  const { createDockerClient } = require(path.join(dist, 'sampling', 'dockerClient.js'));
  const docker = createDockerClient('/var/run/docker.sock');
  const cpu = new host.CpuMeter();
  await cpu.percent(); // the first reading waits 250 ms; measure steady state
  const tracker = new services.ServiceTracker(DEFAULT_SERVICES);
  const useSystemd = services.hasSystemd();
  const rows = [];
  rows.push(await cost('sampleSystemMetrics (/proc/stat + si.mem + statfs)', () => host.sampleSystemMetrics(cpu, '/', null), calls));
  rows.push(await cost('readProcessTable (/proc/*/stat)', () => processTable.readProcessTable(), calls));
  rows.push(await cost('readUptimeSeconds', () => processTable.readUptimeSeconds(), calls));
  if (useSystemd) rows.push(await cost('readSystemdUnits (exec systemctl)', () => services.readSystemdUnits(DEFAULT_SERVICES), calls));
  rows.push(await cost('sampleContainers (Engine API over the socket)', () => containers.sampleContainers(docker), calls));
  const table = await processTable.readProcessTable();
  rows.push(await cost('ServiceTracker.evaluate', async () => tracker.evaluate(table, await processTable.readUptimeSeconds(), null), calls));
  // Once a minute by default (AGENT_INVENTORY_INTERVAL_MS), so fewer calls.
  rows.push(await cost('sampleStaticInventory (hourly)', () => host.sampleStaticInventory(), 2));
  const statics = await host.sampleStaticInventory();
  rows.push(await cost('sampleInventory (every 60 s)', () => host.sampleInventory(statics), Math.max(2, Math.round(calls / 3))));
  rows.push(await cost('sampleTemperature (every 60 s)', () => host.sampleTemperature(), Math.max(2, Math.round(calls / 3))));
  return { processes: table.size, systemd: useSystemd, rows };
}

module.exports = { sampleCost };

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '10' },
      dist: { type: 'string', default: path.resolve(__dirname, '..', '..', 'packages', 'agent', 'dist') },
      json: { type: 'boolean', default: false },
    },
  });
  const calls = Math.min(100, Math.max(1, Number(values.calls) || 10));
  sampleCost(path.resolve(String(values.dist)), calls).then(
    (r) => {
      if (values.json) {
        process.stdout.write(JSON.stringify(r));
        process.exit(0);
      }
      console.log(`${r.processes} processes in /proc; systemd: ${r.systemd}`);
      console.log(`${'step (mean per call)'.padEnd(58)} wall ms  own CPU ms  child CPU ms  worst loop stall ms`);
      for (const row of r.rows) console.log(`${row.step.padEnd(58)} ${String(row.wallMs).padStart(7)}  ${String(row.selfCpuMs).padStart(10)}  ${String(row.childCpuMs).padStart(12)}  ${String(row.worstLoopStallMs).padStart(19)}`);
      // dockerode keeps nothing open, but be explicit: this script must end by itself.
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
