// @ts-check
'use strict';
/**
 * Live-heap figures of a running agent, read from a V8 heap snapshot: node
 * writes one on SIGUSR2 when started with --heapsnapshot-signal=SIGUSR2, after
 * a full GC, so its total is what is really retained (no garbage). Comparing
 * totals after more and more requests tells a leak from a heap that merely
 * has not been collected yet.
 */
const { readdirSync, readFileSync, rmSync, statSync } = require('node:fs');
const path = require('node:path');

/**
 * Sends SIGUSR2 and waits for the new snapshot file to be complete.
 * @param {number} pid
 * @param {string} dir the --diagnostic-dir given to the process
 * @param {number} timeoutMs
 */
async function takeSnapshot(pid, dir, timeoutMs = 60_000) {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`no heap snapshot from pid ${pid} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
    const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (!file) continue;
    const size = statSync(path.join(dir, file)).size;
    // Complete when the size stops changing and the JSON closes.
    if (size > 0 && size === last) {
      const full = path.join(dir, file);
      const text = readFileSync(full, 'utf8');
      if (text.trimEnd().endsWith('}')) return full;
    }
    last = size;
  }
}

/**
 * Live JS heap, native memory it points at, and the biggest constructors by self size.
 * @param {string} file
 * @param {number} top
 */
function summariseSnapshot(file, top = 8) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const stride = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const nodes = snap.nodes;
  /** @type {Map<string, number>} */
  const byName = new Map();
  let total = 0;
  let native = 0;
  for (let i = 0; i < nodes.length; i += stride) {
    const size = nodes[i + iSize];
    total += size;
    const type = types[nodes[i + iType]];
    // "native" nodes are memory V8 points at but does not own (ArrayBuffer
    // backing stores, WebAssembly memories): the "external" of process.memoryUsage().
    if (type === 'native') native += size;
    // Group objects by constructor; everything else by its type (string, code …).
    const key = type === 'object' || type === 'closure' ? `${type}:${snap.strings[nodes[i + iName]]}` : `(${type})`;
    byName.set(key, (byName.get(key) ?? 0) + size);
  }
  const mb = (/** @type {number} */ b) => Math.round((b / 1024 ** 2) * 100) / 100;
  return {
    liveHeapMb: mb(total - native),
    nativeMb: mb(native),
    top: [...byName.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, bytes]) => ({ name, mb: mb(bytes) })),
  };
}

/**
 * @param {number} pid
 * @param {string} dir
 */
async function liveHeap(pid, dir) {
  const file = await takeSnapshot(pid, dir);
  try {
    return summariseSnapshot(file);
  } finally {
    rmSync(file, { force: true });
  }
}

module.exports = { liveHeap };
