import type { Queryable } from './db';

export interface InventoryRow {
  agentId: string;
  ts: string;
  hostname: string;
  osName: string;
  osVersion: string;
  kernelVersion: string;
  architecture: string;
  cpuCores: number;
  cpuBrand: string;
  cpuFrequencyMhz: number;
  memoryTotalBytes: number;
}

export interface DiskRow {
  agentId: string;
  ts: string;
  mount: string;
  filesystem: string;
  fsType: string;
  sizeBytes: number;
  usedBytes: number;
  usagePercent: number;
}

export interface NetworkRow {
  agentId: string;
  ts: string;
  iface: string;
  bytesSent: number;
  bytesReceived: number;
  errorsSent: number;
  errorsReceived: number;
}

export async function insertInventory(q: Queryable, rows: readonly InventoryRow[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `INSERT INTO system_inventory (agent_id, ts, hostname, os_name, os_version, kernel_version, architecture,
                                   cpu_cores, cpu_brand, cpu_frequency_mhz, memory_total_bytes)
     SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                          $8::int[], $9::text[], $10::real[], $11::bigint[])
     ON CONFLICT DO NOTHING`,
    [
      rows.map((r) => r.agentId),
      rows.map((r) => r.ts),
      rows.map((r) => r.hostname),
      rows.map((r) => r.osName),
      rows.map((r) => r.osVersion),
      rows.map((r) => r.kernelVersion),
      rows.map((r) => r.architecture),
      rows.map((r) => r.cpuCores),
      rows.map((r) => r.cpuBrand),
      rows.map((r) => r.cpuFrequencyMhz),
      rows.map((r) => Math.round(r.memoryTotalBytes)),
    ],
  );
}

export async function insertDiskUsage(q: Queryable, rows: readonly DiskRow[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `INSERT INTO disk_usage (agent_id, ts, mount, filesystem, fs_type, size_bytes, used_bytes, usage_percent)
     SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::real[])
     ON CONFLICT DO NOTHING`,
    [
      rows.map((r) => r.agentId),
      rows.map((r) => r.ts),
      rows.map((r) => r.mount),
      rows.map((r) => r.filesystem),
      rows.map((r) => r.fsType),
      rows.map((r) => Math.round(r.sizeBytes)),
      rows.map((r) => Math.round(r.usedBytes)),
      rows.map((r) => r.usagePercent),
    ],
  );
}

export async function insertNetworkStats(q: Queryable, rows: readonly NetworkRow[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `INSERT INTO network_stats (agent_id, ts, interface, bytes_sent, bytes_received, errors_sent, errors_received)
     SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
     ON CONFLICT DO NOTHING`,
    [
      rows.map((r) => r.agentId),
      rows.map((r) => r.ts),
      rows.map((r) => r.iface),
      rows.map((r) => Math.round(r.bytesSent)),
      rows.map((r) => Math.round(r.bytesReceived)),
      rows.map((r) => Math.round(r.errorsSent)),
      rows.map((r) => Math.round(r.errorsReceived)),
    ],
  );
}
