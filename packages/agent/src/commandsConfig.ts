import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { ServiceDefinition } from './sampling/serviceCatalogue';
import { ConfigError } from './config';
import { parseCustomCommands, type CustomCommandConfig } from './commands/catalogue';
import { parseServiceControl, serviceControlFromDefinitions, type ServiceControlConfig } from './commands/serviceControl';

export interface CommandsConfig {
  services: ServiceControlConfig;
  /** undefined: custom commands are off (the default). */
  customCommands: CustomCommandConfig[] | undefined;
}

/**
 * AGENT_COMMANDS_FILE: `{ "services": { name: { unit, argv } }, "commands": [ … ] }`.
 * Without the file (or its "services" key) service control covers the tracked
 * services through their systemd units; without "commands" custom commands are off.
 */
export function loadCommandsConfig(file: string | null, tracked: readonly ServiceDefinition[]): CommandsConfig {
  if (!file) return { services: serviceControlFromDefinitions(tracked), customCommands: undefined };
  let json: { services?: unknown; commands?: unknown };
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`invalid AGENT_COMMANDS_FILE ${file}: ${(err as Error).message}`);
  }
  try {
    return {
      services: json.services === undefined ? serviceControlFromDefinitions(tracked) : parseServiceControl(json.services),
      customCommands: json.commands === undefined ? undefined : parseCustomCommands(json.commands),
    };
  } catch (err) {
    throw new ConfigError(`invalid AGENT_COMMANDS_FILE ${file}: ${(err as Error).message}`);
  }
}

/** uid and gid of AGENT_RUN_AS_USER, resolved once at start. */
export function resolveRunAs(user: string | null): { uid: number; gid: number } | null {
  if (!user) return null;
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new ConfigError(`invalid AGENT_RUN_AS_USER: no user "${user}" on this host`);
  }
}
