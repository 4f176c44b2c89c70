/**
 * What the agent lets a session container be: resolved once from AGENT_SESSION_*
 * (config.ts) and handed to the pure decisions (validateSessionRequest,
 * allocatePorts, selectExpired, buildCreateOptions) and the session manager.
 */

/** Host ports come from [first, last], or Docker picks an ephemeral one. */
export type PortPool = { readonly kind: 'range'; readonly first: number; readonly last: number } | { readonly kind: 'ephemeral' };

export interface LimitRange {
  readonly min: number;
  readonly max: number;
  readonly default: number;
}

export interface SessionPolicy {
  /** Exact image references a session may use. Empty: no spawns at all. */
  readonly images: readonly string[];
  /** Allow-listed images that cannot run with a read-only root filesystem. */
  readonly writableImages: readonly string[];
  /** The address published ports bind to (default 127.0.0.1: reachable through a local proxy only). */
  readonly bindIp: string;
  readonly portPool: PortPool;
  readonly memoryMb: LimitRange;
  readonly cpuShares: LimitRange;
  readonly pidsLimit: LimitRange;
  /** Sessions this agent keeps at once, running or stopped. */
  readonly maxSessions: number;
  /** Remove a session this long after it was created, whatever its state. */
  readonly ttlSeconds: number;
  /** Remove a session stopped (or never started) for this long. */
  readonly exitedTtlSeconds: number;
  /** How often the agent runs the TTL cleanup by itself; 0 = only at start and on request. */
  readonly cleanupIntervalSeconds: number;
  /** Capabilities given back after dropping ALL (default none). */
  readonly capAdd: readonly string[];
  /** user[:group] the session's processes run as; null = the image's. */
  readonly user: string | null;
  /** Size of the /tmp tmpfs given to a read-only root filesystem (counts against the memory limit). */
  readonly tmpfsMb: number;
  /** Seconds between SIGTERM and SIGKILL on stop. */
  readonly stopTimeoutSeconds: number;
}

/** Floors below which Docker or the session's own runtime cannot work. */
export const LIMIT_FLOORS = { memoryMb: 16, cpuShares: 2, pidsLimit: 8 } as const;

/** The most container ports one session publishes. */
export const MAX_PORTS_PER_SESSION = 8;

/** Capabilities Docker knows (capabilities(7)); AGENT_SESSION_CAP_ADD must name these. */
export const KNOWN_CAPABILITIES = [
  'AUDIT_CONTROL', 'AUDIT_READ', 'AUDIT_WRITE', 'BLOCK_SUSPEND', 'BPF', 'CHECKPOINT_RESTORE', 'CHOWN', 'DAC_OVERRIDE',
  'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'IPC_LOCK', 'IPC_OWNER', 'KILL', 'LEASE', 'LINUX_IMMUTABLE', 'MAC_ADMIN',
  'MAC_OVERRIDE', 'MKNOD', 'NET_ADMIN', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_RAW', 'PERFMON', 'SETFCAP',
  'SETGID', 'SETPCAP', 'SETUID', 'SYSLOG', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_CHROOT', 'SYS_MODULE', 'SYS_NICE',
  'SYS_PACCT', 'SYS_PTRACE', 'SYS_RAWIO', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'WAKE_ALARM',
] as const;

/** "20000-20999" or "ephemeral". Throws with a message for the variable. */
export function parsePortPool(raw: string): PortPool {
  const s = raw.trim();
  if (s === 'ephemeral') return { kind: 'ephemeral' };
  const m = /^(\d{1,5})\s*-\s*(\d{1,5})$/.exec(s);
  if (!m) throw new Error(`"${s}" is neither FIRST-LAST (e.g. 20000-20999) nor "ephemeral"`);
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (first < 1024 || last > 65535) throw new Error(`${first}-${last} must lie within 1024-65535`);
  if (first > last) throw new Error(`${first}-${last} starts after it ends`);
  return { kind: 'range', first, last };
}

/** Comma-separated image references, e.g. "viworks/desktop:2.1, viworks/shell:1". */
export function parseImageList(raw: string): string[] {
  const images = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const image of images) {
    // A reference, not a pattern: no wildcards, no whitespace.
    if (!/^[a-z0-9][a-z0-9._\-/:@]*$/i.test(image) || image.length > 255) throw new Error(`"${image}" is not an image reference`);
  }
  return [...new Set(images)];
}

export function parseCapabilities(raw: string): string[] {
  const caps = raw.split(',').map((s) => s.trim().toUpperCase().replace(/^CAP_/, '')).filter(Boolean);
  for (const c of caps) {
    if (!(KNOWN_CAPABILITIES as readonly string[]).includes(c)) throw new Error(`unknown capability "${c}"`);
  }
  return [...new Set(caps)];
}
