import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Algorithm } from 'jsonwebtoken';
import { z } from 'zod';
import { LIMIT_FLOORS, parseCapabilities, parseImageList, parsePortPool, type LimitRange, type SessionPolicy } from './containers/policy';
import { DEFAULT_SERVICES, parseServiceList, type ServiceDefinition } from './sampling/serviceCatalogue';
import { parseIpRanges, type IpRange } from './security/ipRanges';
import type { JwtConfig } from './security/jwt';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface AgentConfig {
  readonly agentId: string;
  readonly host: string;
  readonly port: number;
  readonly sampleIntervalMs: number;
  readonly inventoryIntervalMs: number;
  readonly historySeconds: number;
  readonly diskMount: string;
  readonly services: readonly ServiceDefinition[];
  readonly dockerSocket: string;
  readonly logLevel: string;
  readonly dataDir: string;
  readonly keysFile: string | null;
  readonly insecureNoAuth: boolean;
  readonly jwt: JwtConfig | null;
  readonly allowedIps: readonly IpRange[];
  readonly trustedProxies: readonly IpRange[];
  readonly rateLimitPerMinute: number;
  readonly bodyLimitBytes: number;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | null;
  readonly auditDir: string;
  readonly logRoots: readonly string[];
  readonly commandsFile: string | null;
  readonly runAsUser: string | null;
  /** User session containers (AGENT_SESSION_*). */
  readonly sessions: SessionPolicy;
}

const intFrom = (min: number, max: number) => z.coerce.number().int('must be a whole number').min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const EnvSchema = z.object({
  AGENT_ID: z.string().regex(/^[A-Za-z0-9._-]{1,50}$/, 'must be 1-50 characters of A-Z a-z 0-9 . _ -').optional(),
  AGENT_HOST: z.string().min(1).default('127.0.0.1'),
  AGENT_PORT: intFrom(0, 65535).default(8210),
  AGENT_SAMPLE_INTERVAL_MS: intFrom(250, 3_600_000).default(5000),
  AGENT_INVENTORY_INTERVAL_MS: intFrom(1000, 86_400_000).default(60_000),
  AGENT_HISTORY_SECONDS: intFrom(60, 7 * 86_400).default(21_600),
  AGENT_DISK_MOUNT: z.string().startsWith('/', 'must be an absolute path').default('/'),
  AGENT_SERVICES: z.string().optional(),
  AGENT_DOCKER_SOCKET: z.string().default('/var/run/docker.sock'),
  AGENT_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  AGENT_DATA_DIR: z.string().min(1).default('./data/agent'),
  AGENT_KEYS_FILE: z.string().min(1).optional(),
  AGENT_INSECURE_NO_AUTH: bool.default(false),
  AGENT_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  AGENT_JWT_PUBLIC_KEY_FILE: z.string().min(1).optional(),
  AGENT_JWT_ISSUER: z.string().min(1).optional(),
  AGENT_JWT_AUDIENCE: z.string().min(1).optional(),
  AGENT_ALLOWED_IPS: z.string().default(''),
  AGENT_TRUSTED_PROXIES: z.string().default(''),
  AGENT_RATE_LIMIT_PER_MINUTE: intFrom(1, 1_000_000).default(100),
  AGENT_BODY_LIMIT_BYTES: intFrom(1024, 10 * 1024 * 1024).default(64 * 1024),
  AGENT_TLS_CERT: z.string().min(1).optional(),
  AGENT_TLS_KEY: z.string().min(1).optional(),
  AGENT_AUDIT_DIR: z.string().min(1).optional(),
  AGENT_LOG_ROOTS: z.string().default('/var/log'),
  AGENT_COMMANDS_FILE: z.string().min(1).optional(),
  AGENT_RUN_AS_USER: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'must be a user name').optional(),
  AGENT_SESSION_IMAGES: z.string().default(''),
  AGENT_SESSION_WRITABLE_IMAGES: z.string().default(''),
  AGENT_SESSION_BIND_IP: z.union([z.ipv4(), z.ipv6()], { error: 'must be an IP address' }).default('127.0.0.1'),
  AGENT_SESSION_PORT_RANGE: z.string().default('20000-20999'),
  AGENT_SESSION_MEMORY_MB_DEFAULT: intFrom(LIMIT_FLOORS.memoryMb, 1024 * 1024).default(256),
  AGENT_SESSION_MEMORY_MB_MAX: intFrom(LIMIT_FLOORS.memoryMb, 1024 * 1024).default(2048),
  AGENT_SESSION_CPU_SHARES_DEFAULT: intFrom(LIMIT_FLOORS.cpuShares, 262_144).default(512),
  AGENT_SESSION_CPU_SHARES_MAX: intFrom(LIMIT_FLOORS.cpuShares, 262_144).default(1024),
  AGENT_SESSION_PIDS_DEFAULT: intFrom(LIMIT_FLOORS.pidsLimit, 4_194_304).default(128),
  AGENT_SESSION_PIDS_MAX: intFrom(LIMIT_FLOORS.pidsLimit, 4_194_304).default(1024),
  AGENT_SESSION_MAX_SESSIONS: intFrom(1, 10_000).default(50),
  AGENT_SESSION_TTL_SECONDS: intFrom(1, 365 * 86_400).default(86_400),
  AGENT_SESSION_EXITED_TTL_SECONDS: intFrom(0, 365 * 86_400).default(3600),
  AGENT_SESSION_CLEANUP_INTERVAL_SECONDS: intFrom(0, 86_400).default(300),
  AGENT_SESSION_CAP_ADD: z.string().default(''),
  AGENT_SESSION_USER: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$/, 'must be user or user:group (names or ids)').optional(),
  AGENT_SESSION_TMPFS_MB: intFrom(1, 65_536).default(64),
  AGENT_SESSION_STOP_TIMEOUT_SECONDS: intFrom(0, 3600).default(10),
});

function fail(variable: string, message: string): never {
  throw new ConfigError(`invalid ${variable}: ${message}`);
}

function readable(variable: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    fail(variable, `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

function jwtConfig(e: z.infer<typeof EnvSchema>): JwtConfig | null {
  if (!e.AGENT_JWT_SECRET && !e.AGENT_JWT_PUBLIC_KEY_FILE) return null;
  if (e.AGENT_JWT_SECRET && e.AGENT_JWT_PUBLIC_KEY_FILE) fail('AGENT_JWT_SECRET', 'set either it or AGENT_JWT_PUBLIC_KEY_FILE, not both');
  if (!e.AGENT_JWT_ISSUER) fail('AGENT_JWT_ISSUER', 'required when JWT is enabled');
  if (!e.AGENT_JWT_AUDIENCE) fail('AGENT_JWT_AUDIENCE', 'required when JWT is enabled');
  if (e.AGENT_JWT_SECRET) return { key: e.AGENT_JWT_SECRET, algorithms: ['HS256'], issuer: e.AGENT_JWT_ISSUER, audience: e.AGENT_JWT_AUDIENCE };
  const pem = readable('AGENT_JWT_PUBLIC_KEY_FILE', e.AGENT_JWT_PUBLIC_KEY_FILE!);
  const algorithms: Algorithm[] = pem.includes('BEGIN PUBLIC KEY') ? ['RS256', 'ES256'] : fail('AGENT_JWT_PUBLIC_KEY_FILE', 'must hold a PEM public key');
  return { key: pem, algorithms, issuer: e.AGENT_JWT_ISSUER, audience: e.AGENT_JWT_AUDIENCE };
}

function ranges(variable: string, raw: string): IpRange[] {
  try {
    return parseIpRanges(raw);
  } catch (err) {
    fail(variable, (err as Error).message);
  }
}

function parsed<T>(variable: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    fail(variable, (err as Error).message);
  }
}

function limitRange(prefix: string, min: number, def: number, max: number): LimitRange {
  if (def > max) fail(`${prefix}_DEFAULT`, `${def} is above ${prefix}_MAX (${max})`);
  return Object.freeze({ min, max, default: def });
}

function sessionPolicy(e: z.infer<typeof EnvSchema>): SessionPolicy {
  const images = parsed('AGENT_SESSION_IMAGES', () => parseImageList(e.AGENT_SESSION_IMAGES));
  const writableImages = parsed('AGENT_SESSION_WRITABLE_IMAGES', () => parseImageList(e.AGENT_SESSION_WRITABLE_IMAGES));
  for (const w of writableImages) if (!images.includes(w)) fail('AGENT_SESSION_WRITABLE_IMAGES', `"${w}" is not in AGENT_SESSION_IMAGES`);
  return Object.freeze({
    images: Object.freeze(images),
    writableImages: Object.freeze(writableImages),
    bindIp: e.AGENT_SESSION_BIND_IP,
    portPool: Object.freeze(parsed('AGENT_SESSION_PORT_RANGE', () => parsePortPool(e.AGENT_SESSION_PORT_RANGE))),
    memoryMb: limitRange('AGENT_SESSION_MEMORY_MB', LIMIT_FLOORS.memoryMb, e.AGENT_SESSION_MEMORY_MB_DEFAULT, e.AGENT_SESSION_MEMORY_MB_MAX),
    cpuShares: limitRange('AGENT_SESSION_CPU_SHARES', LIMIT_FLOORS.cpuShares, e.AGENT_SESSION_CPU_SHARES_DEFAULT, e.AGENT_SESSION_CPU_SHARES_MAX),
    pidsLimit: limitRange('AGENT_SESSION_PIDS', LIMIT_FLOORS.pidsLimit, e.AGENT_SESSION_PIDS_DEFAULT, e.AGENT_SESSION_PIDS_MAX),
    maxSessions: e.AGENT_SESSION_MAX_SESSIONS,
    ttlSeconds: e.AGENT_SESSION_TTL_SECONDS,
    exitedTtlSeconds: e.AGENT_SESSION_EXITED_TTL_SECONDS,
    cleanupIntervalSeconds: e.AGENT_SESSION_CLEANUP_INTERVAL_SECONDS,
    capAdd: Object.freeze(parsed('AGENT_SESSION_CAP_ADD', () => parseCapabilities(e.AGENT_SESSION_CAP_ADD))),
    user: e.AGENT_SESSION_USER ?? null,
    tmpfsMb: e.AGENT_SESSION_TMPFS_MB,
    stopTimeoutSeconds: e.AGENT_SESSION_STOP_TIMEOUT_SECONDS,
  });
}

/** Reads the environment once, validates it and returns a frozen config. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    fail(String(issue.path[0]), issue.message);
  }
  const e = parsed.data;
  let services: ServiceDefinition[];
  try {
    services = e.AGENT_SERVICES === undefined ? [...DEFAULT_SERVICES] : parseServiceList(e.AGENT_SERVICES);
  } catch (err) {
    fail('AGENT_SERVICES', (err as Error).message);
  }
  if (Boolean(e.AGENT_TLS_CERT) !== Boolean(e.AGENT_TLS_KEY)) fail(e.AGENT_TLS_CERT ? 'AGENT_TLS_KEY' : 'AGENT_TLS_CERT', 'AGENT_TLS_CERT and AGENT_TLS_KEY go together');
  if (e.AGENT_TLS_CERT) {
    readable('AGENT_TLS_CERT', e.AGENT_TLS_CERT);
    readable('AGENT_TLS_KEY', e.AGENT_TLS_KEY!);
  }
  const dataDir = path.resolve(e.AGENT_DATA_DIR);
  const logRoots = e.AGENT_LOG_ROOTS.split(',').map((s) => s.trim()).filter(Boolean);
  for (const r of logRoots) if (!path.isAbsolute(r)) fail('AGENT_LOG_ROOTS', `"${r}" is not an absolute path`);
  return Object.freeze({
    agentId: e.AGENT_ID ?? os.hostname().slice(0, 50),
    host: e.AGENT_HOST,
    port: e.AGENT_PORT,
    sampleIntervalMs: e.AGENT_SAMPLE_INTERVAL_MS,
    inventoryIntervalMs: e.AGENT_INVENTORY_INTERVAL_MS,
    historySeconds: e.AGENT_HISTORY_SECONDS,
    diskMount: e.AGENT_DISK_MOUNT,
    services: Object.freeze(services),
    dockerSocket: e.AGENT_DOCKER_SOCKET,
    logLevel: e.AGENT_LOG_LEVEL,
    dataDir,
    keysFile: e.AGENT_KEYS_FILE ? path.resolve(e.AGENT_KEYS_FILE) : null,
    insecureNoAuth: e.AGENT_INSECURE_NO_AUTH,
    jwt: jwtConfig(e),
    allowedIps: ranges('AGENT_ALLOWED_IPS', e.AGENT_ALLOWED_IPS),
    trustedProxies: ranges('AGENT_TRUSTED_PROXIES', e.AGENT_TRUSTED_PROXIES),
    rateLimitPerMinute: e.AGENT_RATE_LIMIT_PER_MINUTE,
    bodyLimitBytes: e.AGENT_BODY_LIMIT_BYTES,
    tls: e.AGENT_TLS_CERT ? { certFile: path.resolve(e.AGENT_TLS_CERT), keyFile: path.resolve(e.AGENT_TLS_KEY!) } : null,
    auditDir: path.resolve(e.AGENT_AUDIT_DIR ?? path.join(dataDir, 'audit')),
    logRoots: Object.freeze(logRoots),
    commandsFile: e.AGENT_COMMANDS_FILE ? path.resolve(e.AGENT_COMMANDS_FILE) : null,
    runAsUser: e.AGENT_RUN_AS_USER ?? null,
    sessions: sessionPolicy(e),
  });
}
