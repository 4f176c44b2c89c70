import { z } from 'zod';

/**
 * The wire contract between agent and collector. Field names follow the
 * ViWorks OS Agent spec (snake_case JSON). Both sides validate with these
 * schemas: the agent before it answers (in tests), the collector on every poll.
 */

const percent = z.number().min(0).max(100);
const isoTimestamp = z.iso.datetime({ offset: true });

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().describe('machine-readable error code, e.g. not_found, invalid_query'),
      message: z.string().describe('what went wrong, for a person'),
    }),
  })
  .meta({ id: 'ErrorBody' });
export type ErrorBody = z.infer<typeof ErrorBody>;

export const HealthResponse = z
  .object({
    status: z.enum(['healthy', 'starting']),
    timestamp: isoTimestamp,
    version: z.string(),
    uptime: z.number().int().nonnegative().describe('agent process uptime in seconds'),
  })
  .meta({ id: 'HealthResponse' });
export type HealthResponse = z.infer<typeof HealthResponse>;

export const LoadAverage = z
  .object({
    one_minute: z.number().nonnegative(),
    five_minutes: z.number().nonnegative(),
    fifteen_minutes: z.number().nonnegative(),
  })
  .meta({ id: 'LoadAverage' });

export const SystemMetrics = z
  .object({
    cpu_usage_percent: percent,
    memory_usage_percent: percent,
    disk_usage_percent: percent.describe('usage of the filesystem holding the configured mount (default /)'),
    load_average: LoadAverage,
    uptime_seconds: z.number().int().nonnegative(),
    temperature: z.number().nullable().describe('CPU package temperature in °C, null where the host has no sensor'),
  })
  .meta({ id: 'SystemMetrics' });
export type SystemMetrics = z.infer<typeof SystemMetrics>;

export const ServiceState = z.enum(['running', 'stopped', 'error']);
export type ServiceState = z.infer<typeof ServiceState>;

export const ServiceStatus = z
  .object({
    name: z.string(),
    status: ServiceState,
    pid: z.number().int().positive().nullable().describe('main PID (systemd MainPID, or the root of the process tree)'),
    process_count: z.number().int().nonnegative(),
    cpu_percent: z.number().nonnegative().nullable().describe('CPU use of all its processes since the previous sample, % of one core'),
    memory_bytes: z.number().int().nonnegative().nullable().describe('resident memory of all its processes'),
    source: z.enum(['systemd', 'proc']).describe('how the state was found'),
    detail: z.string().nullable().describe('why the state is error, or the systemd sub-state'),
  })
  .meta({ id: 'ServiceStatus' });
export type ServiceStatus = z.infer<typeof ServiceStatus>;

export const ContainerPort = z
  .object({
    container_port: z.number().int(),
    host_port: z.number().int().nullable(),
    host_ip: z.string().nullable(),
    protocol: z.string(),
  })
  .meta({ id: 'ContainerPort' });

export const ContainerInfo = z
  .object({
    id: z.string(),
    name: z.string(),
    image: z.string(),
    state: z.string().describe('docker state: created, running, exited, …'),
    status: z.string().describe('docker status text'),
    created_at: isoTimestamp,
    username: z.string().nullable(),
    session_id: z.string().nullable(),
    managed: z.boolean().describe('true for session containers created by this agent'),
    ports: z.array(ContainerPort),
    // Session details (null for containers the agent did not create). Defaulted so
    // a collector still reads agents that predate them.
    started_at: isoTimestamp.nullable().default(null).describe('when the container last started'),
    stopped_at: isoTimestamp.nullable().default(null).describe('when it last stopped; null while running or never started'),
    memory_bytes: z.number().int().nonnegative().nullable().default(null).describe('current memory use (page cache excluded); null unless running'),
    cpu_percent: z.number().nonnegative().nullable().default(null).describe('CPU use since the previous sample, % of one core; null on the first sample'),
    limits: z
      .object({
        memory_bytes: z.number().int().nonnegative().describe('memory limit; memory+swap is the same'),
        cpu_shares: z.number().int().nonnegative(),
        pids_limit: z.number().int().nullable(),
      })
      .nullable()
      .default(null),
    created_by: z.string().nullable().default(null).describe('the key id or JWT subject that spawned the session'),
  })
  .meta({ id: 'ContainerInfo' });
export type ContainerInfo = z.infer<typeof ContainerInfo>;

const sessionId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ . - starting with a letter or digit');

export const SessionRequest = z
  .object({
    username: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,99}$/, 'must be 1-100 characters of A-Z a-z 0-9 _ . @ -'),
    session_id: sessionId,
    image: z.string().min(1).max(255).describe('an image from the agent\'s allow-list (AGENT_SESSION_IMAGES)'),
    memory_mb: z.number().int('must be a whole number').optional().describe('memory limit in MiB (memory+swap is the same); default AGENT_SESSION_MEMORY_MB_DEFAULT'),
    cpu_shares: z.number().int('must be a whole number').optional().describe('relative CPU weight (1024 = one full share); default AGENT_SESSION_CPU_SHARES_DEFAULT'),
    pids_limit: z.number().int('must be a whole number').optional().describe('maximum processes in the container; default AGENT_SESSION_PIDS_DEFAULT'),
    // Optional rather than defaulted: the OpenAPI document is generated from output
    // types, where a default would show as required.
    ports: z.array(z.number().int().min(1).max(65535)).max(8).optional().describe('container TCP ports to publish on the session interface (default none)'),
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'names must match [A-Za-z_][A-Za-z0-9_]*'), z.string().max(4096).regex(/^[^\0]*$/, 'must not hold NUL'))
      .optional()
      .describe('environment variables; names are audited, values are not'),
  })
  .strict()
  .meta({ id: 'SessionRequest' });
export type SessionRequest = z.infer<typeof SessionRequest>;

export const SessionList = z.object({ containers: z.array(ContainerInfo) }).meta({ id: 'SessionList' });
export type SessionList = z.infer<typeof SessionList>;

export const CleanupRequest = z
  .object({
    ttl_seconds: z.number().int().min(0).optional().describe('remove sessions created longer ago than this; default AGENT_SESSION_TTL_SECONDS'),
    exited_ttl_seconds: z.number().int().min(0).optional().describe('remove sessions stopped for longer than this; default AGENT_SESSION_EXITED_TTL_SECONDS'),
    dry_run: z.boolean().optional().describe('report what would be removed, remove nothing (default false)'),
  })
  .strict()
  .meta({ id: 'CleanupRequest' });
export type CleanupRequest = z.infer<typeof CleanupRequest>;

export const CleanupResult = z
  .object({
    removed: z.array(z.object({ id: z.string(), session_id: z.string().nullable(), reason: z.string() })),
    kept: z.number().int().nonnegative(),
    failed: z.array(z.object({ id: z.string(), error: z.string() })),
    dry_run: z.boolean(),
  })
  .meta({ id: 'CleanupResult' });
export type CleanupResult = z.infer<typeof CleanupResult>;

export const DockerState = z
  .object({
    available: z.boolean(),
    error: z.string().nullable(),
  })
  .meta({ id: 'DockerState' });

export const StatusResponse = z
  .object({
    agent_id: z.string(),
    hostname: z.string(),
    timestamp: isoTimestamp.describe('when this sample was taken'),
    system: SystemMetrics,
    services: z.array(ServiceStatus),
    containers: z.array(ContainerInfo),
    docker: DockerState,
  })
  .meta({ id: 'StatusResponse' });
export type StatusResponse = z.infer<typeof StatusResponse>;

export const OverallHealth = z.enum(['healthy', 'degraded', 'critical']);
export type OverallHealth = z.infer<typeof OverallHealth>;

export const StatusSimpleResponse = z
  .object({
    status: OverallHealth,
    timestamp: isoTimestamp,
    cpu_usage_percent: percent,
    memory_usage_percent: percent,
    disk_usage_percent: percent,
    load_one_minute: z.number().nonnegative(),
    services_down: z.number().int().nonnegative(),
    services_total: z.number().int().nonnegative(),
  })
  .meta({ id: 'StatusSimpleResponse' });
export type StatusSimpleResponse = z.infer<typeof StatusSimpleResponse>;

export const DiskInfo = z
  .object({
    mount: z.string(),
    filesystem: z.string(),
    type: z.string(),
    size_bytes: z.number().nonnegative(),
    used_bytes: z.number().nonnegative(),
    usage_percent: percent,
  })
  .meta({ id: 'DiskInfo' });
export type DiskInfo = z.infer<typeof DiskInfo>;

export const InterfaceStats = z
  .object({
    name: z.string(),
    bytes_sent: z.number().nonnegative(),
    bytes_received: z.number().nonnegative(),
    errors_sent: z.number().nonnegative(),
    errors_received: z.number().nonnegative(),
  })
  .meta({ id: 'InterfaceStats' });
export type InterfaceStats = z.infer<typeof InterfaceStats>;

export const SystemInfoResponse = z
  .object({
    agent_id: z.string(),
    timestamp: isoTimestamp,
    cpu: z.object({
      cores: z.number().int().positive(),
      usage_percent: percent,
      frequency: z.number().nonnegative().describe('MHz'),
      brand: z.string(),
    }),
    memory: z.object({
      total_gb: z.number().nonnegative(),
      used_gb: z.number().nonnegative(),
      available_gb: z.number().nonnegative(),
      usage_percent: percent,
    }),
    network: z.object({
      interfaces: z.array(z.string()),
      bytes_sent: z.number().nonnegative().describe('sum over interfaces, since boot'),
      bytes_received: z.number().nonnegative(),
      interface_stats: z.array(InterfaceStats),
    }),
    disks: z.array(DiskInfo),
    system: z.object({
      hostname: z.string(),
      os_name: z.string(),
      os_version: z.string(),
      kernel_version: z.string(),
      architecture: z.string(),
    }),
  })
  .meta({ id: 'SystemInfoResponse' });
export type SystemInfoResponse = z.infer<typeof SystemInfoResponse>;

export const CommandRequest = z
  .object({
    command: z.string().min(1).max(100).describe('a name from GET /api/v1/commands, e.g. disk.usage or custom.backup'),
    params: z.record(z.string(), z.unknown()).optional().describe('typed parameters of that command'),
  })
  .strict()
  .meta({ id: 'CommandRequest' });
export type CommandRequest = z.infer<typeof CommandRequest>;

export const CommandResult = z
  .object({
    id: z.string().describe('correlation id, also in the audit log'),
    command: z.string(),
    status: z.enum(['completed', 'failed', 'timed_out', 'rejected']),
    exit_code: z.number().int().nullable(),
    signal: z.string().nullable(),
    stdout: z.string(),
    stderr: z.string(),
    duration_ms: z.number().nonnegative(),
    truncated: z.boolean().describe('true when output passed the cap (1 MiB per stream) and was cut'),
  })
  .meta({ id: 'CommandResult' });
export type CommandResult = z.infer<typeof CommandResult>;

export const CommandRejection = z
  .object({
    id: z.string(),
    status: z.literal('rejected'),
    error: z.object({ code: z.string(), message: z.string(), param: z.string().nullable() }),
  })
  .meta({ id: 'CommandRejection' });

export const HistorySample = z
  .object({
    timestamp: isoTimestamp,
    system: SystemMetrics,
  })
  .meta({ id: 'HistorySample' });
export type HistorySample = z.infer<typeof HistorySample>;

export const MetricsHistoryResponse = z
  .object({
    agent_id: z.string(),
    samples: z.array(HistorySample).describe('oldest first, strictly after `since`'),
    next_since: isoTimestamp.nullable().describe('pass as `since` for the next page; null when this page reaches the newest sample'),
    oldest: isoTimestamp.nullable().describe('the oldest sample the agent still holds'),
    complete: z.boolean().describe('false when `since` is older than the history the agent holds: part of the gap cannot be recovered'),
  })
  .meta({ id: 'MetricsHistoryResponse' });
export type MetricsHistoryResponse = z.infer<typeof MetricsHistoryResponse>;
