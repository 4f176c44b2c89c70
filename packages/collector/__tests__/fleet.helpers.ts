import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createCollector, type Collector } from '../src/createCollector';
import { defaultFleetConfig, type FleetConfig } from '../src/fleet/fleetConfig';
import type { Db } from '../src/store/db';
import type { FleetSimulator } from '../../../test/fleetSimulator';
import { baseConfig } from './helpers';

export const silent = pino({ level: 'silent' });

/** A clock that only moves when told, aligned to a 30 s tier boundary an hour ago (inside the agents' history). */
export function steppedClock() {
  let t = Math.floor(Date.now() / 30_000) * 30_000 - 3_600_000;
  return { now: () => t, advance: (ms: number) => void (t += ms), at: (offsetMs = 0) => t + offsetMs };
}

export function simCollector(opts: {
  db: Db;
  sim: FleetSimulator;
  clock: () => number;
  ids?: readonly string[];
  fleet?: Partial<FleetConfig>;
  timeoutMs?: number;
}): Collector {
  const ids = opts.ids ?? opts.sim.ids;
  return createCollector({
    config: baseConfig({
      agents: ids.map((id) => ({ id, baseUrl: opts.sim.baseUrl(id), token: null })),
      pollTimeoutMs: opts.timeoutMs ?? 1000,
      pollConcurrency: 64,
      maxBodyBytes: 256 * 1024,
      // Each collector its own spool folder.
      dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'viworks-fleet-')),
      fleet: defaultFleetConfig(opts.fleet),
    }),
    db: opts.db,
    logger: silent,
    clock: opts.clock,
  });
}

/** Polls until check() is true (bounded). */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, everyMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
