import { hasSystemd } from '../sampling/services';
import type { Role } from '../security/roles';
import { CommandRejected } from './commandRejected';
import { buildCustomArgv, CUSTOM_PREFIX, parseCustomCommands, type CustomCommandConfig } from './customCommands';
import { deepFreeze } from './deepFreeze';
import { resolvePathUnderRoots } from './resolvePathUnderRoots';
import {
  parseServiceControl,
  SERVICE_ACTIONS,
  serviceActionArgv,
  servicesSupporting,
  type ServiceAction,
  type ServiceControlConfig,
} from './serviceControl';
import { validateParams, type ParamSpec, type ParamValues } from './validateParams';

// One import for the HTTP layer.
export { CommandRejected, type RejectionCode } from './commandRejected';
export { parseCustomCommands, type CustomCommandConfig } from './customCommands';
export type { ServiceControlConfig } from './serviceControl';
export type { ParamSpec, ParamValues } from './validateParams';

export interface CommandDef {
  readonly name: string;
  readonly description: string;
  /** The least role allowed to run it (check with roleAllows before prepare). */
  readonly role: Role;
  readonly params: Readonly<Record<string, ParamSpec>>;
  readonly timeoutMs: number;
  /** Builds the argv from params that prepare() has validated and resolved. */
  readonly buildArgv: (params: ParamValues) => string[];
}

export interface PreparedCommand {
  def: CommandDef;
  argv: string[];
  /** The validated values (paths as realpaths, defaults filled in), for the audit log. */
  params: ParamValues;
}

export interface Catalogue {
  list(): Array<{ name: string; description: string; role: Role; params: Record<string, ParamSpec> }>;
  /** The definition, without validating anything: lets the caller check the role before touching params. */
  get(name: string): CommandDef | undefined;
  /** Validates params (unknown params rejected, types/patterns/lengths checked, paths realpath'ed and root-checked) and returns the argv to run. Throws CommandRejected. */
  prepare(name: string, params: unknown): Promise<PreparedCommand>;
}

export interface CatalogueOptions {
  services: ServiceControlConfig;
  logRoots: string[];
  /** undefined = custom commands off; [] = on, none defined. Pass parseCustomCommands output. */
  customCommands?: CustomCommandConfig[];
  /** Whether systemd is PID 1; detected once when omitted. */
  systemd?: boolean;
  /** The agent's Docker socket, when not the CLI's default. */
  dockerSocket?: string;
}

const SERVICE_VERBS: Record<ServiceAction, { role: Role; timeoutMs: number; description: string }> = {
  status: { role: 'viewer', timeoutMs: 15_000, description: 'Show the state of an allow-listed service' },
  // systemctl waits for the job; units may take up to their 90 s default start/stop timeout.
  start: { role: 'operator', timeoutMs: 120_000, description: 'Start an allow-listed service' },
  stop: { role: 'operator', timeoutMs: 120_000, description: 'Stop an allow-listed service' },
  restart: { role: 'operator', timeoutMs: 120_000, description: 'Restart an allow-listed service' },
};

function builtIns(opts: CatalogueOptions, systemd: boolean): CommandDef[] {
  const fixed = (name: string, description: string, role: Role, timeoutMs: number, argv: string[]): CommandDef => ({
    name,
    description,
    role,
    params: {},
    timeoutMs,
    buildArgv: () => [...argv],
  });
  const dockerHost = opts.dockerSocket ? ['--host', `unix://${opts.dockerSocket}`] : [];
  return [
    fixed('system.uptime', 'Uptime and load averages', 'viewer', 5_000, ['uptime']),
    // df can block on a dead network mount; the timeout ends it.
    fixed('disk.usage', 'Disk usage of every mounted file system (POSIX format, KiB)', 'viewer', 15_000, ['df', '-P', '-k']),
    fixed('docker.ps', 'All containers, one JSON object per line', 'viewer', 15_000, [
      'docker',
      ...dockerHost,
      'ps',
      '--all',
      '--format',
      '{{json .}}',
    ]),
    ...SERVICE_ACTIONS.map((action): CommandDef => ({
      name: `service.${action}`,
      ...SERVICE_VERBS[action],
      params: { name: { type: 'string', enum: servicesSupporting(opts.services, action, systemd), required: true } },
      buildArgv: (p) => serviceActionArgv(opts.services, String(p.name), action, systemd),
    })),
    {
      name: 'logs.tail',
      description: 'The last lines of a log file under an allowed log root',
      role: 'operator',
      timeoutMs: 15_000,
      params: {
        file: { type: 'string', kind: 'path', allowedRoots: [...opts.logRoots], maxLength: 4096, required: true },
        lines: { type: 'integer', min: 1, max: 5000, default: 100 },
      },
      // The realpath always starts with '/', and '--' ends option parsing anyway.
      buildArgv: (p) => ['tail', '-n', String(p.lines), '--', String(p.file)],
    },
  ];
}

function customDef(cfg: CustomCommandConfig): CommandDef {
  return {
    name: `${CUSTOM_PREFIX}${cfg.name}`,
    description: cfg.description,
    role: cfg.role,
    params: cfg.params,
    timeoutMs: cfg.timeoutMs,
    buildArgv: (p) => buildCustomArgv(cfg.argv, p),
  };
}

/** The command name for messages: bounded and printable, or not shown. */
function shown(name: unknown): string {
  return typeof name === 'string' && /^[\x20-\x7e]{1,100}$/.test(name) ? ` "${name}"` : '';
}

/**
 * The fixed set of things the agent will run. Nothing reaches runProcess
 * except an argv built here from validated values: there is no free-form
 * command and no shell anywhere on the path.
 */
export function createCatalogue(opts: CatalogueOptions): Catalogue {
  const systemd = opts.systemd ?? hasSystemd();
  // Validated again here (both parsers accept their own output), so config
  // that skipped parsing fails at start-up instead of reaching the runner.
  const services = parseServiceControl(opts.services);
  const custom = opts.customCommands === undefined ? [] : parseCustomCommands(opts.customCommands);
  const defs = new Map<string, CommandDef>();
  for (const def of [...builtIns({ ...opts, services }, systemd), ...custom.map(customDef)]) {
    defs.set(def.name, deepFreeze(def));
  }
  const customEnabled = opts.customCommands !== undefined;

  const get = (name: string) => (typeof name === 'string' ? defs.get(name) : undefined);

  return {
    list: () =>
      [...defs.values()].map((d) => ({
        name: d.name,
        description: d.description,
        role: d.role,
        params: structuredClone(d.params) as Record<string, ParamSpec>,
      })),

    get,

    async prepare(name, params) {
      const def = get(name);
      if (!def) {
        if (!customEnabled && typeof name === 'string' && name.startsWith(CUSTOM_PREFIX)) {
          throw new CommandRejected('custom_commands_disabled', 'custom commands are not enabled on this agent');
        }
        throw new CommandRejected('unknown_command', `unknown command${shown(name)}`);
      }
      const values = validateParams(def.params, params);
      for (const [key, spec] of Object.entries(def.params)) {
        if (spec.kind !== 'path' || values[key] === undefined) continue;
        values[key] = await resolvePathUnderRoots(String(values[key]), spec.allowedRoots ?? [], key);
      }
      return { def, argv: def.buildArgv(values), params: Object.freeze(values) };
    },
  };
}
