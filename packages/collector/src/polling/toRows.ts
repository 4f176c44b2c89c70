import type { MetricsHistoryResponse, StatusResponse, SystemInfoResponse } from '@viworks/protocol';
import type { ContainerRow } from '../store/containerSessions';
import type { DiskRow, InventoryRow, NetworkRow } from '../store/inventory';
import type { MetricRow } from '../store/metrics';
import type { ServiceRow } from '../store/services';

// Pure mappings from the wire shapes to store rows. Rows carry the agent's
// sample time, so a retried poll of the same sample maps to the same key.

export function metricRow(agentId: string, s: StatusResponse): MetricRow {
  const m = s.system;
  return {
    agentId,
    ts: s.timestamp,
    cpuUsage: m.cpu_usage_percent,
    memoryUsage: m.memory_usage_percent,
    diskUsage: m.disk_usage_percent,
    load1: m.load_average.one_minute,
    load5: m.load_average.five_minutes,
    load15: m.load_average.fifteen_minutes,
    uptimeSeconds: m.uptime_seconds,
    temperature: m.temperature,
  };
}

export function serviceRows(agentId: string, s: StatusResponse): ServiceRow[] {
  return s.services.map((svc) => ({
    agentId,
    ts: s.timestamp,
    name: svc.name,
    status: svc.status,
    pid: svc.pid,
    cpuPercent: svc.cpu_percent,
    memoryBytes: svc.memory_bytes,
  }));
}

export function containerRows(agentId: string, s: StatusResponse): ContainerRow[] {
  return s.containers.map((c) => ({
    agentId,
    ts: s.timestamp,
    containerId: c.id,
    name: c.name,
    image: c.image,
    username: c.username,
    sessionId: c.session_id,
    port: c.ports.find((p) => p.host_port !== null)?.host_port ?? null,
    status: c.state,
    managed: c.managed,
    createdAt: c.created_at,
  }));
}

export function inventoryRows(
  agentId: string,
  s: SystemInfoResponse,
): { inventory: InventoryRow; disks: DiskRow[]; network: NetworkRow[] } {
  return {
    inventory: {
      agentId,
      ts: s.timestamp,
      hostname: s.system.hostname,
      osName: s.system.os_name,
      osVersion: s.system.os_version,
      kernelVersion: s.system.kernel_version,
      architecture: s.system.architecture,
      cpuCores: s.cpu.cores,
      cpuBrand: s.cpu.brand,
      cpuFrequencyMhz: s.cpu.frequency,
      memoryTotalBytes: s.memory.total_gb * 1024 ** 3,
    },
    disks: s.disks.map((d) => ({
      agentId,
      ts: s.timestamp,
      mount: d.mount,
      filesystem: d.filesystem,
      fsType: d.type,
      sizeBytes: d.size_bytes,
      usedBytes: d.used_bytes,
      usagePercent: d.usage_percent,
    })),
    network: s.network.interface_stats.map((n) => ({
      agentId,
      ts: s.timestamp,
      iface: n.name,
      bytesSent: n.bytes_sent,
      bytesReceived: n.bytes_received,
      errorsSent: n.errors_sent,
      errorsReceived: n.errors_received,
    })),
  };
}

/** A sample from the agent's history (`GET /api/v1/metrics/history`): the same row a live poll of it gives. */
export function historyMetricRow(agentId: string, s: MetricsHistoryResponse['samples'][number]): MetricRow {
  return metricRow(agentId, { timestamp: s.timestamp, system: s.system } as StatusResponse);
}
