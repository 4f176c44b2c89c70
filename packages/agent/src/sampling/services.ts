import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import type { ServiceStatus } from '@viworks/protocol';
import { CLOCK_TICKS_PER_SECOND, type ProcessEntry } from './processTable';
import type { ServiceDefinition } from './serviceCatalogue';

const execFileAsync = promisify(execFile);

export interface SystemdUnit {
  readonly id: string;
  readonly loadState: string;
  readonly activeState: string;
  readonly subState: string;
  readonly mainPid: number;
}

/** Parses `systemctl show --property=Id,LoadState,ActiveState,SubState,MainPID u1 u2 …`. */
export function parseSystemctlShow(text: string): Map<string, SystemdUnit> {
  const units = new Map<string, SystemdUnit>();
  for (const block of text.split(/\n\s*\n/)) {
    const kv = new Map<string, string>();
    for (const line of block.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) kv.set(line.slice(0, eq), line.slice(eq + 1).trim());
    }
    const id = kv.get('Id');
    if (!id) continue;
    units.set(id, {
      id,
      loadState: kv.get('LoadState') ?? 'not-found',
      activeState: kv.get('ActiveState') ?? 'inactive',
      subState: kv.get('SubState') ?? '',
      mainPid: Number(kv.get('MainPID') ?? 0) || 0,
    });
  }
  return units;
}

/** Every PID in the tree under root, root included. */
export function descendants(table: ReadonlyMap<number, ProcessEntry>, root: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of table.values()) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    if (!table.has(pid)) continue;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** The processes whose comm matches, and the oldest root of their tree. */
export function matchByName(
  table: ReadonlyMap<number, ProcessEntry>,
  names: readonly string[],
): { pids: number[]; main: ProcessEntry | null } {
  const wanted = new Set(names);
  const matched = [...table.values()].filter((p) => wanted.has(p.comm));
  const pidSet = new Set(matched.map((p) => p.pid));
  const roots = matched.filter((p) => !pidSet.has(p.ppid));
  roots.sort((a, b) => a.startTicks - b.startTicks || a.pid - b.pid);
  return { pids: matched.map((p) => p.pid), main: roots[0] ?? null };
}

function systemdState(unit: SystemdUnit): ServiceStatus['status'] {
  if (unit.activeState === 'failed') return 'error';
  if (['active', 'reloading', 'activating', 'deactivating'].includes(unit.activeState)) return 'running';
  return 'stopped';
}

interface CpuMark {
  ticks: number;
  startTicks: number;
}

/**
 * Turns a process table into service states. Keeps the previous sample's CPU
 * ticks per PID so it can report CPU % over the interval between samples.
 */
export class ServiceTracker {
  private prev = new Map<number, CpuMark>();
  private prevUptime: number | null = null;

  constructor(
    private readonly defs: readonly ServiceDefinition[],
    private readonly selfPid: number = process.pid,
  ) {}

  evaluate(
    table: ReadonlyMap<number, ProcessEntry>,
    uptimeSeconds: number,
    systemd: ReadonlyMap<string, SystemdUnit> | null,
  ): ServiceStatus[] {
    const elapsed = this.prevUptime === null ? null : uptimeSeconds - this.prevUptime;
    const result = this.defs.map((def) => this.one(def, table, systemd, elapsed));
    this.prev = new Map([...table.values()].map((p) => [p.pid, { ticks: p.cpuTicks, startTicks: p.startTicks }]));
    this.prevUptime = uptimeSeconds;
    return result;
  }

  private one(
    def: ServiceDefinition,
    table: ReadonlyMap<number, ProcessEntry>,
    systemd: ReadonlyMap<string, SystemdUnit> | null,
    elapsed: number | null,
  ): ServiceStatus {
    const unit = systemd ? def.units.map((u) => systemd.get(u)).find((u) => u && u.loadState === 'loaded') : undefined;
    if (unit) {
      const pid = unit.mainPid > 0 && table.has(unit.mainPid) ? unit.mainPid : null;
      const pids = pid ? descendants(table, pid) : [];
      return {
        name: def.name,
        status: systemdState(unit),
        pid,
        ...this.usage(table, pids, elapsed),
        source: 'systemd',
        detail: `${unit.id}: ${unit.activeState}/${unit.subState}`,
      };
    }
    let main: ProcessEntry | null;
    let pids: number[];
    if (def.self) {
      main = table.get(this.selfPid) ?? null;
      pids = main ? descendants(table, main.pid) : [];
    } else {
      ({ main, pids } = matchByName(table, def.processNames));
    }
    if (!main) {
      return { name: def.name, status: 'stopped', pid: null, process_count: 0, cpu_percent: null, memory_bytes: null, source: 'proc', detail: null };
    }
    const zombie = main.state === 'Z';
    return {
      name: def.name,
      status: zombie ? 'error' : 'running',
      pid: main.pid,
      ...this.usage(table, pids, elapsed),
      source: 'proc',
      detail: zombie ? 'main process is a zombie (exited, not reaped)' : null,
    };
  }

  private usage(table: ReadonlyMap<number, ProcessEntry>, pids: number[], elapsed: number | null) {
    let ticks = 0;
    let memory = 0;
    for (const pid of pids) {
      const p = table.get(pid)!;
      memory += p.rssBytes;
      const before = this.prev.get(pid);
      if (before && before.startTicks === p.startTicks) ticks += p.cpuTicks - before.ticks;
      else if (this.prevUptime !== null && p.startTicks / CLOCK_TICKS_PER_SECOND >= this.prevUptime) ticks += p.cpuTicks;
    }
    const cpu = elapsed && elapsed > 0 ? (ticks / CLOCK_TICKS_PER_SECOND / elapsed) * 100 : null;
    return {
      process_count: pids.length,
      cpu_percent: cpu === null ? null : Math.round(Math.max(0, cpu) * 100) / 100,
      memory_bytes: memory,
    };
  }
}

/** True where systemd is PID 1 (the documented sd_booted() check). */
export function hasSystemd(): boolean {
  return existsSync('/run/systemd/system');
}

/** Asks systemd for every unit the catalogue knows, in one exec. */
export async function readSystemdUnits(defs: readonly ServiceDefinition[]): Promise<Map<string, SystemdUnit>> {
  const units = [...new Set(defs.flatMap((d) => d.units))];
  if (units.length === 0) return new Map();
  const { stdout } = await execFileAsync(
    'systemctl',
    ['show', '--no-pager', '--property=Id,LoadState,ActiveState,SubState,MainPID', '--', ...units],
    { timeout: 5000, maxBuffer: 1 << 20 },
  );
  return parseSystemctlShow(stdout);
}
