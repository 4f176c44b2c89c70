import os from 'node:os';
import { z } from 'zod';
import { DEFAULT_SERVICES, parseServiceList, type ServiceDefinition } from './sampling/serviceCatalogue';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface AgentConfig {
  readonly agentId: string;
  readonly host: string;
  readonly port: number;
  readonly sampleIntervalMs: number;
  readonly inventoryIntervalMs: number;
  readonly diskMount: string;
  readonly services: readonly ServiceDefinition[];
  readonly dockerSocket: string;
  readonly logLevel: string;
}

const intFrom = (min: number, max: number) =>
  z.coerce.number().int(`must be a whole number`).min(min).max(max);

const EnvSchema = z.object({
  AGENT_ID: z.string().regex(/^[A-Za-z0-9._-]{1,50}$/, 'must be 1-50 characters of A-Z a-z 0-9 . _ -').optional(),
  AGENT_HOST: z.string().min(1).default('127.0.0.1'),
  AGENT_PORT: intFrom(0, 65535).default(8210),
  AGENT_SAMPLE_INTERVAL_MS: intFrom(250, 3_600_000).default(5000),
  AGENT_INVENTORY_INTERVAL_MS: intFrom(1000, 86_400_000).default(60_000),
  AGENT_DISK_MOUNT: z.string().startsWith('/', 'must be an absolute path').default('/'),
  AGENT_SERVICES: z.string().optional(),
  AGENT_DOCKER_SOCKET: z.string().default('/var/run/docker.sock'),
  AGENT_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Reads the environment once, validates it and returns a frozen config. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`invalid ${String(issue.path[0])}: ${issue.message}`);
  }
  const e = parsed.data;
  let services: ServiceDefinition[];
  try {
    services = e.AGENT_SERVICES === undefined ? [...DEFAULT_SERVICES] : parseServiceList(e.AGENT_SERVICES);
  } catch (err) {
    throw new ConfigError(`invalid AGENT_SERVICES: ${(err as Error).message}`);
  }
  return Object.freeze({
    agentId: e.AGENT_ID ?? os.hostname().slice(0, 50),
    host: e.AGENT_HOST,
    port: e.AGENT_PORT,
    sampleIntervalMs: e.AGENT_SAMPLE_INTERVAL_MS,
    inventoryIntervalMs: e.AGENT_INVENTORY_INTERVAL_MS,
    diskMount: e.AGENT_DISK_MOUNT,
    services: Object.freeze(services),
    dockerSocket: e.AGENT_DOCKER_SOCKET,
    logLevel: e.AGENT_LOG_LEVEL,
  });
}
