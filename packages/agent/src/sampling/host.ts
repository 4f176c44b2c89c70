import fsSync, { promises as fs } from 'node:fs';
import os from 'node:os';
import si from 'systeminformation';
import type { DiskInfo, InterfaceStats, SystemMetrics } from '@viworks/protocol';

const round2 = (n: number) => Math.round(n * 100) / 100;
const clampPercent = (n: number) => round2(Math.min(100, Math.max(0, Number.isFinite(n) ? n : 0)));

/**
 * Usage of the filesystem holding `mount`, as df reports it: used / (used +
 * available to unprivileged users). statfs is one syscall, so this can run on
 * every sample, where si.fsSize() spawns df.
 */
export async function diskUsagePercent(mount: string): Promise<number> {
  const s = await fs.statfs(mount);
  const used = s.blocks - s.bfree;
  const denominator = used + s.bavail;
  return denominator > 0 ? clampPercent((used / denominator) * 100) : 0;
}

/** CPU time counters from the first line of /proc/stat, in clock ticks. */
export function parseProcStatCpu(text: string): { busy: number; total: number } | null {
  const line = text.slice(0, text.indexOf('\n'));
  const f = line.trim().split(/\s+/);
  if (f[0] !== 'cpu') return null;
  const n = f.slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal (guest is inside user)
  if (n.length < 4 || n.some((x) => !Number.isFinite(x))) return null;
  const total = n.reduce((a, b) => a + b, 0);
  const idle = n[3]! + (n[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * Host CPU utilisation between two readings of /proc/stat. Measured here
 * rather than with si.currentLoad(), which spawns a shell (`cat | grep`) on
 * every call: that exec was most of the agent's idle CPU.
 */
export class CpuMeter {
  private prev: { busy: number; total: number } | null = null;

  constructor(private readonly procRoot = '/proc') {}

  private read() {
    const r = parseProcStatCpu(fsSync.readFileSync(`${this.procRoot}/stat`, 'utf8'));
    if (!r) throw new Error(`${this.procRoot}/stat has no cpu line`);
    return r;
  }

  /** Percent busy since the previous call; the first call measures over 250 ms. */
  async percent(): Promise<number> {
    if (!this.prev) {
      this.prev = this.read();
      await new Promise((r) => setTimeout(r, 250));
    }
    const now = this.read();
    const dTotal = now.total - this.prev.total;
    const dBusy = now.busy - this.prev.busy;
    this.prev = now;
    return dTotal > 0 ? clampPercent((dBusy / dTotal) * 100) : 0;
  }
}

/** The fast, per-sample system block of /api/v1/status. */
export async function sampleSystemMetrics(cpu: CpuMeter, diskMount: string, temperature: number | null): Promise<SystemMetrics> {
  const [cpuPercent, mem, disk] = await Promise.all([cpu.percent(), si.mem(), diskUsagePercent(diskMount)]);
  const [one, five, fifteen] = os.loadavg() as [number, number, number];
  return {
    cpu_usage_percent: cpuPercent,
    // "available" is what the kernel can hand out without swapping: the figure
    // free(1) and every operator reads, not total - free.
    memory_usage_percent: mem.total > 0 ? clampPercent(((mem.total - mem.available) / mem.total) * 100) : 0,
    disk_usage_percent: disk,
    load_average: { one_minute: round2(one), five_minutes: round2(five), fifteen_minutes: round2(fifteen) },
    uptime_seconds: Math.floor(os.uptime()),
    temperature,
  };
}

export async function sampleTemperature(): Promise<number | null> {
  const t = await si.cpuTemperature();
  return typeof t.main === 'number' && Number.isFinite(t.main) && t.main > -273 ? round2(t.main) : null;
}

export interface HostInventory {
  cores: number;
  brand: string;
  frequencyMhz: number;
  memoryTotal: number;
  memoryAvailable: number;
  hostname: string;
  osName: string;
  osVersion: string;
  kernel: string;
  arch: string;
  disks: DiskInfo[];
  interfaces: InterfaceStats[];
}

// Pseudo and container filesystems say nothing about capacity.
const IGNORED_FS = /^(overlay|tmpfs|devtmpfs|squashfs|proc|sysfs|cgroup2?|nsfs|shm|none)$/;

/** Per-interface counters from /proc/net/dev (one file read; si.networkStats execs ip and nmcli). */
export function parseProcNetDev(text: string): InterfaceStats[] {
  const out: InterfaceStats[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    // receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes packets errs …
    if (f.length < 11) continue;
    out.push({ name: line.slice(0, colon).trim(), bytes_received: f[0]!, errors_received: f[2]!, bytes_sent: f[8]!, errors_sent: f[10]! });
  }
  return out;
}

type StaticInventory = Pick<HostInventory, 'cores' | 'brand' | 'frequencyMhz' | 'osName' | 'osVersion' | 'kernel' | 'arch'>;

/**
 * What does not change while the host runs (CPU model, OS): si.cpu() and
 * si.osInfo() exec lscpu, dmidecode and friends, so this is read rarely.
 */
export async function sampleStaticInventory(): Promise<StaticInventory> {
  const [cpu, speed, osInfo] = await Promise.all([si.cpu(), si.cpuCurrentSpeed(), si.osInfo()]);
  const ghz = speed.avg || cpu.speed || 0;
  return {
    cores: cpu.cores || os.cpus().length || 1,
    brand: [cpu.manufacturer, cpu.brand].filter(Boolean).join(' ').trim() || os.cpus()[0]?.model || 'unknown',
    frequencyMhz: Math.round(ghz * 1000),
    osName: osInfo.distro || os.type(),
    osVersion: [osInfo.release, osInfo.codename ? `(${osInfo.codename})` : ''].filter(Boolean).join(' '),
    kernel: osInfo.kernel || os.release(),
    arch: osInfo.arch || os.arch(),
  };
}

/** The inventory that moves (filesystems, interface counters, memory size), refreshed every inventory interval. */
export async function sampleInventory(statics: StaticInventory): Promise<HostInventory> {
  const [mem, fsSizes, netText] = await Promise.all([si.mem(), si.fsSize(), fs.readFile('/proc/net/dev', 'utf8')]);
  return {
    ...statics,
    memoryTotal: mem.total,
    memoryAvailable: mem.available,
    hostname: os.hostname(),
    disks: fsSizes
      .filter((d) => !IGNORED_FS.test(d.type) && d.size > 0)
      .map((d) => ({
        mount: d.mount,
        filesystem: d.fs,
        type: d.type,
        size_bytes: d.size,
        used_bytes: d.used,
        usage_percent: clampPercent(d.use),
      })),
    interfaces: parseProcNetDev(netText),
  };
}
