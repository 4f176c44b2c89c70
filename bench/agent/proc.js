// @ts-check
'use strict';
/**
 * Reads a process's memory and CPU straight from /proc, so the figures are
 * the kernel's and not the process's opinion of itself.
 */
const { execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');

/** Clock ticks per second for /proc/<pid>/stat times (100 on every Linux seen). */
const CLOCK_TICKS = (() => {
  try {
    const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim());
    return Number.isFinite(v) && v > 0 ? v : 100;
  } catch {
    return 100;
  }
})();

/**
 * Memory lines of /proc/<pid>/status, in KiB. VmRSS = RssAnon + RssFile +
 * RssShmem; VmHWM is the peak RSS since the process started.
 * @param {number} pid
 * @returns {{ vmRssKb: number, vmHwmKb: number, rssAnonKb: number, rssFileKb: number, rssShmemKb: number }}
 */
function readMemory(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  /** @param {string} key */
  const kb = (key) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!m) throw new Error(`/proc/${pid}/status has no ${key}`);
    return Number(m[1]);
  };
  return {
    vmRssKb: kb('VmRSS'),
    vmHwmKb: kb('VmHWM'),
    rssAnonKb: kb('RssAnon'),
    rssFileKb: kb('RssFile'),
    rssShmemKb: kb('RssShmem'),
  };
}

/**
 * CPU time of a process in clock ticks: its own (utime + stime) and that of
 * children it has waited for (cutime + cstime). Programs the agent execs
 * (df, getconf …) are billed to the second pair once reaped.
 * @param {number} pid
 * @returns {{ selfTicks: number, childTicks: number }}
 */
function readCpuTicks(pid) {
  const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm may hold spaces and ")": the fields start after the last ")".
  const f = line.slice(line.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state), so field n is f[n - 3]: utime 14, stime 15, cutime 16, cstime 17.
  return { selfTicks: Number(f[11]) + Number(f[12]), childTicks: Number(f[13]) + Number(f[14]) };
}

/**
 * Tracks CPU of several processes over one window.
 * @param {Record<string, number>} pids name → pid
 */
function startCpuWindow(pids) {
  const t0 = process.hrtime.bigint();
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, readCpuTicks(pid)]));
  return {
    /** @returns {{ seconds: number, byName: Record<string, { selfPercent: number, childPercent: number, totalPercent: number, selfTicks: number, childTicks: number }> }} */
    end() {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      /** @type {Record<string, any>} */
      const byName = {};
      for (const [name, pid] of Object.entries(pids)) {
        const after = readCpuTicks(pid);
        const selfTicks = after.selfTicks - before[name].selfTicks;
        const childTicks = after.childTicks - before[name].childTicks;
        const pct = (/** @type {number} */ ticks) => (ticks / CLOCK_TICKS / seconds) * 100;
        byName[name] = {
          selfTicks,
          childTicks,
          selfPercent: pct(selfTicks),
          childPercent: pct(childTicks),
          totalPercent: pct(selfTicks + childTicks),
        };
      }
      return { seconds, byName };
    },
  };
}

module.exports = { CLOCK_TICKS, readMemory, readCpuTicks, startCpuWindow };
