import { promises as fs } from 'node:fs';
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

/** The fast, per-sample system block of /api/v1/status. */
export async function sampleSystemMetrics(diskMount: string, temperature: number | null): Promise<SystemMetrics> {
  const [load, mem, disk] = await Promise.all([si.currentLoad(), si.mem(), diskUsagePercent(diskMount)]);
  const [one, five, fifteen] = os.loadavg() as [number, number, number];
  return {
    cpu_usage_percent: clampPercent(load.currentLoad),
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

/** The slow inventory: several execs and file walks, refreshed rarely. */
export async function sampleInventory(): Promise<HostInventory> {
  const [cpu, speed, mem, osInfo, fsSizes, net] = await Promise.all([
    si.cpu(),
    si.cpuCurrentSpeed(),
    si.mem(),
    si.osInfo(),
    si.fsSize(),
    si.networkStats('*'),
  ]);
  const ghz = speed.avg || cpu.speed || 0;
  return {
    cores: cpu.cores || os.cpus().length || 1,
    brand: [cpu.manufacturer, cpu.brand].filter(Boolean).join(' ').trim() || os.cpus()[0]?.model || 'unknown',
    frequencyMhz: Math.round(ghz * 1000),
    memoryTotal: mem.total,
    memoryAvailable: mem.available,
    hostname: os.hostname(),
    osName: osInfo.distro || os.type(),
    osVersion: [osInfo.release, osInfo.codename ? `(${osInfo.codename})` : ''].filter(Boolean).join(' '),
    kernel: osInfo.kernel || os.release(),
    arch: osInfo.arch || os.arch(),
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
    interfaces: net.map((n) => ({
      name: n.iface,
      bytes_sent: n.tx_bytes,
      bytes_received: n.rx_bytes,
      errors_sent: n.tx_errors,
      errors_received: n.rx_errors,
    })),
  };
}
