import fs from 'node:fs';
import path from 'node:path';
import cron from 'node-cron';
import { z } from 'zod';
import { FleetConfigError, loadFleetConfig, type FleetConfig } from './fleet/fleetConfig';
import { AlertingConfigError, loadAlertingConfig, type AlertingConfig } from './alerts/alertingConfig';
import { loadTimeseriesConfig, TimeseriesConfigError, type TimeseriesConfig } from './timeseries/timeseriesConfig';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface AgentTarget {
  readonly id: string;
  readonly baseUrl: string;
  /** Credentials slot: sent as a bearer token once agents require one. */
  readonly token: string | null;
}

export interface TierSchedules {
  readonly metrics: string;
  readonly services: string;
  readonly inventory: string;
}

export interface CollectorConfig {
  readonly databaseUrl: string | null;
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly agents: readonly AgentTarget[];
  readonly schedules: TierSchedules;
  readonly retentionSchedule: string;
  readonly retentionDays: number;
  readonly pollTimeoutMs: number;
  readonly pollConcurrency: number;
  readonly maxBodyBytes: number;
  readonly pollOnStart: boolean;
  readonly logLevel: string;
  /** Alert rules and receivers (built-in defaults, no receivers, when absent). */
  readonly alerting?: AlertingConfig;
  /** Per-table retention (raw vs rollups), partitions ahead, TimescaleDB compression (defaults when absent). */
  readonly timeseries?: TimeseriesConfig;
  /** Leases, backoff, jitter, clock checks, backfill (defaults without leases/backoff/jitter when absent). */
  readonly fleet?: FleetConfig;
}

export const AGENT_ID = /^[A-Za-z0-9._-]{1,50}$/;

export const AgentTargetSchema = z
  .object({
    id: z.string().regex(AGENT_ID, 'must be 1-50 characters of A-Z a-z 0-9 . _ -'),
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
    token: z.string().min(1).nullish(),
  })
  .strict();

const cronExpr = z.string().refine((s) => cron.validate(s), 'must be a valid cron expression (6 fields: s m h dom mon dow)');
const int = (min: number, max: number) => z.coerce.number().int('must be a whole number').min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const EnvSchema = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  COLLECTOR_DATA_DIR: z.string().min(1).default('./data/collector'),
  COLLECTOR_HOST: z.string().min(1).default('127.0.0.1'),
  COLLECTOR_PORT: int(0, 65535).default(8220),
  COLLECTOR_AGENTS: z.string().optional(),
  COLLECTOR_AGENTS_FILE: z.string().optional(),
  COLLECTOR_METRICS_SCHEDULE: cronExpr.default('*/30 * * * * *'),
  COLLECTOR_SERVICES_SCHEDULE: cronExpr.default('0 */5 * * * *'),
  COLLECTOR_INVENTORY_SCHEDULE: cronExpr.default('0 0 * * * *'),
  COLLECTOR_RETENTION_SCHEDULE: cronExpr.default('0 17 * * * *'),
  COLLECTOR_RETENTION_DAYS: int(1, 3650).default(30),
  COLLECTOR_POLL_TIMEOUT_MS: int(100, 120_000).default(5000),
  COLLECTOR_POLL_CONCURRENCY: int(1, 10_000).default(64),
  COLLECTOR_MAX_BODY_BYTES: int(1024, 256 * 1024 * 1024).default(4 * 1024 * 1024),
  COLLECTOR_POLL_ON_START: bool.default(true),
  COLLECTOR_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  COLLECTOR_ALERT_RULES_FILE: z.string().min(1).optional(),
  COLLECTOR_RECEIVERS_FILE: z.string().min(1).optional(),
});

/**
 * COLLECTOR_AGENTS is either JSON (`[{"id":"web1","url":"http://…"}]`) or the
 * short form `web1=http://10.0.0.5:8210,web2=http://…`.
 */
export function parseAgentList(raw: string, source: string): AgentTarget[] {
  const trimmed = raw.trim();
  let items: unknown[];
  if (trimmed.startsWith('[')) {
    try {
      items = JSON.parse(trimmed);
    } catch (err) {
      throw new ConfigError(`${source}: not valid JSON (${(err as Error).message})`);
    }
  } else {
    items = trimmed
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((pair) => {
        const eq = pair.indexOf('=');
        return eq < 0 ? { id: pair } : { id: pair.slice(0, eq), url: pair.slice(eq + 1) };
      });
  }
  if (!Array.isArray(items)) throw new ConfigError(`${source}: must be a list of agents`);
  const seen = new Set<string>();
  return items.map((item, i) => {
    const r = AgentTargetSchema.safeParse(item);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new ConfigError(`${source}: agent #${i + 1}: ${issue.path.join('.') || 'entry'}: ${issue.message}`);
    }
    if (seen.has(r.data.id)) throw new ConfigError(`${source}: agent id "${r.data.id}" is listed twice`);
    seen.add(r.data.id);
    return { id: r.data.id, baseUrl: r.data.url.replace(/\/+$/, ''), token: r.data.token ?? null };
  });
}

/** Reads the environment (and the agents file) once; throws ConfigError naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`invalid ${String(issue.path[0])}: ${issue.message}`);
  }
  const e = parsed.data;
  const agents: AgentTarget[] = [];
  if (e.COLLECTOR_AGENTS_FILE) {
    let text: string;
    try {
      text = fs.readFileSync(e.COLLECTOR_AGENTS_FILE, 'utf8');
    } catch (err) {
      throw new ConfigError(`invalid COLLECTOR_AGENTS_FILE: cannot read ${e.COLLECTOR_AGENTS_FILE} (${(err as Error).message})`);
    }
    agents.push(...parseAgentList(text, 'COLLECTOR_AGENTS_FILE'));
  }
  if (e.COLLECTOR_AGENTS) agents.push(...parseAgentList(e.COLLECTOR_AGENTS, 'COLLECTOR_AGENTS'));
  const ids = new Set<string>();
  for (const a of agents) {
    if (ids.has(a.id)) throw new ConfigError(`agent id "${a.id}" is defined in both COLLECTOR_AGENTS_FILE and COLLECTOR_AGENTS`);
    ids.add(a.id);
  }
  let alerting: AlertingConfig;
  try {
    alerting = loadAlertingConfig({ rulesFile: e.COLLECTOR_ALERT_RULES_FILE ?? null, receiversFile: e.COLLECTOR_RECEIVERS_FILE ?? null }, [...ids]);
  } catch (err) {
    if (err instanceof AlertingConfigError) throw new ConfigError(`invalid ${err.variable}: ${err.message}`);
    throw err;
  }
  let timeseries: TimeseriesConfig;
  try {
    timeseries = loadTimeseriesConfig(env, e.COLLECTOR_RETENTION_DAYS);
  } catch (err) {
    if (err instanceof TimeseriesConfigError) throw new ConfigError(`invalid ${err.variable}: ${err.message}`);
    throw err;
  }
  let fleet: FleetConfig;
  try {
    fleet = loadFleetConfig(env);
  } catch (err) {
    if (err instanceof FleetConfigError) throw new ConfigError(`invalid ${err.variable}: ${err.message}`);
    throw err;
  }
  return Object.freeze({
    databaseUrl: e.DATABASE_URL ?? null,
    dataDir: path.resolve(e.COLLECTOR_DATA_DIR),
    host: e.COLLECTOR_HOST,
    port: e.COLLECTOR_PORT,
    agents: Object.freeze(agents),
    schedules: Object.freeze({
      metrics: e.COLLECTOR_METRICS_SCHEDULE,
      services: e.COLLECTOR_SERVICES_SCHEDULE,
      inventory: e.COLLECTOR_INVENTORY_SCHEDULE,
    }),
    retentionSchedule: e.COLLECTOR_RETENTION_SCHEDULE,
    retentionDays: e.COLLECTOR_RETENTION_DAYS,
    pollTimeoutMs: e.COLLECTOR_POLL_TIMEOUT_MS,
    pollConcurrency: e.COLLECTOR_POLL_CONCURRENCY,
    maxBodyBytes: e.COLLECTOR_MAX_BODY_BYTES,
    pollOnStart: e.COLLECTOR_POLL_ON_START,
    logLevel: e.COLLECTOR_LOG_LEVEL,
    alerting,
    timeseries,
    fleet,
  });
}
