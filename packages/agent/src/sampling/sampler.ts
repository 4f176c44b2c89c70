import os from 'node:os';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { StatusResponse, SystemInfoResponse } from '@viworks/protocol';
import type { AgentConfig } from '../config';
import { sampleContainers } from './containers';
import { CpuMeter, sampleInventory, sampleStaticInventory, sampleSystemMetrics, sampleTemperature, type HostInventory } from './host';
import { SampleHistory } from './history';
import { readProcessTable, readUptimeSeconds } from './processTable';
import { hasSystemd, readSystemdUnits, ServiceTracker } from './services';

export interface Snapshot {
  readonly status: StatusResponse;
  readonly system: SystemInfoResponse;
  readonly memoryTotalBytes: number;
  /** How long taking this sample took, in seconds. */
  readonly durationSeconds: number;
}

export interface Sampler {
  /** Takes the first sample (so the API never serves an empty one) and starts the loop. */
  start(): Promise<void>;
  /** Stops the loop and waits for a sample in flight. */
  stop(): Promise<void>;
  latest(): Snapshot | null;
  /** Takes a sample now (used by tests and by start). */
  sampleNow(): Promise<Snapshot>;
  /** Calls fn after every successful sample. */
  onSample(fn: (s: Snapshot) => void): void;
  /** Recent samples' system metrics, for collectors filling a gap. */
  readonly history: SampleHistory;
}

export interface SamplerDeps {
  config: Pick<AgentConfig, 'agentId' | 'sampleIntervalMs' | 'inventoryIntervalMs' | 'diskMount' | 'services'> & {
    /** How much history to keep, in seconds (default 6 h). */
    historySeconds?: number;
  };
  docker: Docker;
  logger: Logger;
  now?: () => Date;
  systemd?: boolean;
}

const GB = 1024 ** 3;
const gb = (bytes: number) => Math.round((bytes / GB) * 100) / 100;

/**
 * Samples the host in the background. Requests read `latest()` and never call
 * systeminformation themselves: the first currentLoad() blocks 500 ms and the
 * inventory calls exec several programs.
 */
export function createSampler(deps: SamplerDeps): Sampler {
  const { config, docker, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const useSystemd = deps.systemd ?? hasSystemd();
  const tracker = new ServiceTracker(config.services);
  let latest: Snapshot | null = null;
  const cpu = new CpuMeter();
  let statics: Awaited<ReturnType<typeof sampleStaticInventory>> | null = null;
  let staticsAt = 0;
  let inventory: HostInventory | null = null;
  let inventoryAt = 0;
  let temperature: number | null = null;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<Snapshot> | null = null;
  let stopped = true;
  const listeners: Array<(s: Snapshot) => void> = [];
  const history = new SampleHistory(Math.max(1, Math.ceil(((config.historySeconds ?? 21_600) * 1000) / config.sampleIntervalMs)));

  async function refreshInventoryIfDue(): Promise<HostInventory> {
    const t = Date.now();
    if (!inventory || t - inventoryAt >= config.inventoryIntervalMs) {
      try {
        // CPU model and OS do not change while the host runs: re-read hourly.
        if (!statics || t - staticsAt >= 3_600_000) {
          statics = await sampleStaticInventory();
          staticsAt = t;
        }
        [inventory, temperature] = await Promise.all([sampleInventory(statics), sampleTemperature()]);
        inventoryAt = t;
      } catch (err) {
        // Keep serving the previous inventory; a failed refresh is retried next sample.
        if (!inventory) throw err;
        logger.warn({ err }, 'inventory refresh failed');
      }
    }
    return inventory;
  }

  async function take(): Promise<Snapshot> {
    const started = process.hrtime.bigint();
    const inv = await refreshInventoryIfDue();
    const [system, table, uptime, units, containers] = await Promise.all([
      sampleSystemMetrics(cpu, config.diskMount, temperature),
      readProcessTable(),
      readUptimeSeconds(),
      useSystemd ? readSystemdUnits(config.services).catch(() => null) : Promise.resolve(null),
      sampleContainers(docker),
    ]);
    const services = tracker.evaluate(table, uptime, units);
    const timestamp = now().toISOString();
    const hostname = os.hostname();
    const snapshot: Snapshot = {
      status: {
        agent_id: config.agentId,
        hostname,
        timestamp,
        system,
        services,
        containers: containers.containers,
        docker: { available: containers.available, error: containers.error },
      },
      system: {
        agent_id: config.agentId,
        timestamp,
        cpu: { cores: inv.cores, usage_percent: system.cpu_usage_percent, frequency: inv.frequencyMhz, brand: inv.brand },
        memory: {
          total_gb: gb(inv.memoryTotal),
          used_gb: gb((inv.memoryTotal * system.memory_usage_percent) / 100),
          available_gb: gb((inv.memoryTotal * (100 - system.memory_usage_percent)) / 100),
          usage_percent: system.memory_usage_percent,
        },
        network: {
          interfaces: inv.interfaces.map((i) => i.name),
          bytes_sent: inv.interfaces.reduce((s, i) => s + i.bytes_sent, 0),
          bytes_received: inv.interfaces.reduce((s, i) => s + i.bytes_received, 0),
          interface_stats: inv.interfaces,
        },
        disks: inv.disks,
        system: {
          hostname,
          os_name: inv.osName,
          os_version: inv.osVersion,
          kernel_version: inv.kernel,
          architecture: inv.arch,
        },
      },
      memoryTotalBytes: inv.memoryTotal,
      durationSeconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
    latest = snapshot;
    history.push({ timestamp, system });
    for (const fn of listeners) fn(snapshot);
    return snapshot;
  }

  let chain: Promise<unknown> = Promise.resolve();
  function sampleNow(): Promise<Snapshot> {
    // Never two samples at once (the CPU-tick deltas assume one stream), and
    // never a sample that started before this call: a caller that just
    // changed something (killed a process) must see the change. So a call
    // made while a sample runs queues a fresh one behind it.
    const run = chain.then(() => take());
    chain = run.catch(() => undefined);
    inFlight = run;
    run.then(
      () => inFlight === run && (inFlight = null),
      () => inFlight === run && (inFlight = null),
    );
    return run;
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(async () => {
      try {
        await sampleNow();
      } catch (err) {
        logger.error({ err }, 'sample failed; serving the previous one');
      }
      schedule();
    }, config.sampleIntervalMs);
    timer.unref();
  }

  return {
    async start() {
      stopped = false;
      await sampleNow();
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight?.catch(() => undefined);
    },
    latest: () => latest,
    sampleNow,
    onSample: (fn) => void listeners.push(fn),
    history,
  };
}
