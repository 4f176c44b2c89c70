import { z } from 'zod';
import { AGENT_SERVICE_NAME, type ServiceDefinition } from '../sampling/serviceCatalogue';
import { CommandRejected } from './commandRejected';
import { deepFreeze } from './deepFreeze';
import { fieldPath } from './fieldPath';

export const SERVICE_ACTIONS = ['start', 'stop', 'restart', 'status'] as const;
export type ServiceAction = (typeof SERVICE_ACTIONS)[number];

/** How to control one allow-listed service. */
export interface ServiceControl {
  /** systemd unit, used when systemd is PID 1. */
  unit?: string;
  /**
   * Explicit argv per action (argv[0] absolute), used when systemd is not
   * running or no unit is given: e.g. { restart: ['/usr/sbin/nginx', '-s', 'reload'] }.
   */
  argv?: Partial<Record<ServiceAction, string[]>>;
}

/** Service name → how to control it. Only names listed here can be touched. */
export type ServiceControlConfig = Readonly<Record<string, ServiceControl>>;

/**
 * The argv for one action on one allow-listed service. Pure: the caller says
 * whether systemd is running. `--` keeps a unit name from ever being read as
 * an option, although config validation already refuses a leading '-'.
 */
export function serviceActionArgv(cfg: ServiceControlConfig, name: string, action: ServiceAction, systemd: boolean): string[] {
  if (!(SERVICE_ACTIONS as readonly string[]).includes(action)) {
    throw new CommandRejected('unknown_command', 'unknown service action');
  }
  const svc = typeof name === 'string' && Object.hasOwn(cfg, name) ? cfg[name] : undefined;
  if (!svc) throw new CommandRejected('invalid_params', 'param "name": not an allow-listed service', { param: 'name' });
  if (systemd && svc.unit) return ['systemctl', action, '--', svc.unit];
  const argv = svc.argv?.[action];
  if (argv) return [...argv];
  const why = systemd ? 'it has no command for that' : 'systemd is not running and it has no command for that';
  throw new CommandRejected('invalid_params', `param "name": service "${name}" cannot ${action} here: ${why}`, { param: 'name' });
}

/** Names that `action` can be applied to, for the catalogue's enum. */
export function servicesSupporting(cfg: ServiceControlConfig, action: ServiceAction, systemd: boolean): string[] {
  return Object.keys(cfg).filter((name) => (systemd && cfg[name]!.unit !== undefined) || cfg[name]!.argv?.[action] !== undefined);
}

/** Starts alphanumeric: no '-' to be read as an option, no '__proto__'. */
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$/;
/** systemd's unit name characters, minus the '\' escape; never a leading '-'. */
const UNIT_NAME = /^[A-Za-z0-9:_.@][A-Za-z0-9:_.@-]{0,254}$/;

const ArgvSchema = z
  .array(z.string().min(1).max(4096).regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters'))
  .min(1)
  .max(64)
  .superRefine((argv, ctx) => {
    if (!argv[0]!.startsWith('/')) ctx.addIssue({ code: 'custom', path: [0], message: 'must be an absolute path' });
  });

const ControlSchema = z
  .strictObject({
    unit: z.string().regex(UNIT_NAME, 'must be a systemd unit name').optional(),
    argv: z
      .strictObject({ start: ArgvSchema.optional(), stop: ArgvSchema.optional(), restart: ArgvSchema.optional(), status: ArgvSchema.optional() })
      .optional(),
  })
  .refine((c) => c.unit !== undefined || (c.argv && Object.keys(c.argv).length > 0), 'needs a unit or at least one argv');

/** Validates operator config for service control; the error names the service and the field. */
export function parseServiceControl(json: unknown): ServiceControlConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error('service control config must be an object of service name → { unit, argv }');
  }
  const out: Record<string, ServiceControl> = {};
  for (const [name, raw] of Object.entries(json)) {
    if (!SERVICE_NAME.test(name)) throw new Error(`service ${JSON.stringify(name.slice(0, 100))}: not a valid service name`);
    const parsed = ControlSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = fieldPath(issue.path);
      throw new Error(`service "${name}": ${field ? `${field}: ` : ''}${issue.message}`);
    }
    out[name] = parsed.data as ServiceControl;
  }
  return deepFreeze(out);
}

/**
 * Control config from the sampling catalogue: each service's first unit (the
 * Debian name comes first there). The agent itself is left out: stopping it
 * from its own API would cut off the only way to start it again, and a
 * restart would kill the request that asked for it.
 */
export function serviceControlFromDefinitions(defs: readonly ServiceDefinition[]): ServiceControlConfig {
  const out: Record<string, ServiceControl> = {};
  for (const d of defs) {
    if (d.self || d.name === AGENT_SERVICE_NAME || d.units.length === 0) continue;
    out[d.name] = { unit: d.units[0]! };
  }
  return deepFreeze(out);
}
