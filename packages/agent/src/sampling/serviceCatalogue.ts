/**
 * Which processes and systemd units make up a named service. The names are
 * the spec's; the process names are what `comm` shows in /proc/<pid>/stat.
 */
export interface ServiceDefinition {
  readonly name: string;
  /** Exact process names (comm, at most 15 characters) that belong to it. */
  readonly processNames: readonly string[];
  /** systemd units to try, first loaded one wins. */
  readonly units: readonly string[];
  /** The agent itself: matched by its own PID rather than by name. */
  readonly self?: boolean;
}

export const AGENT_SERVICE_NAME = 'viworks-agent';

const KNOWN: Record<string, Omit<ServiceDefinition, 'name'>> = {
  docker: { processNames: ['dockerd'], units: ['docker.service'] },
  sshd: { processNames: ['sshd'], units: ['ssh.service', 'sshd.service'] },
  nginx: { processNames: ['nginx'], units: ['nginx.service'] },
  postgres: { processNames: ['postgres', 'postmaster'], units: ['postgresql@15-main.service', 'postgresql.service'] },
  redis: { processNames: ['redis-server'], units: ['redis-server.service', 'redis.service'] },
  openvpn: { processNames: ['openvpn'], units: ['openvpn.service', 'openvpn-server@server.service'] },
  mysql: { processNames: ['mariadbd', 'mysqld'], units: ['mariadb.service', 'mysql.service'] },
  'viworks-gateway-agent': { processNames: ['viworks-gateway'], units: ['viworks-gateway-agent.service'] },
  [AGENT_SERVICE_NAME]: { processNames: [], units: ['viworks-agent.service'], self: true },
};

export const DEFAULT_SERVICES: readonly ServiceDefinition[] = [
  'docker',
  'sshd',
  'nginx',
  'postgres',
  'redis',
  'openvpn',
  AGENT_SERVICE_NAME,
].map((name) => ({ name, ...KNOWN[name]! }));

const NAME = /^[A-Za-z0-9_.@-]{1,100}$/;
const PROCESS = /^[^\s/|,=]{1,15}$/;

/**
 * Parses AGENT_SERVICES: a comma-separated list of known names, or
 * `name=proc1|proc2` for a service of your own (unit `name.service`).
 */
export function parseServiceList(raw: string): ServiceDefinition[] {
  const seen = new Set<string>();
  const out: ServiceDefinition[] = [];
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, procs] = part.split('=', 2) as [string, string | undefined];
    if (!NAME.test(name)) throw new Error(`"${name}" is not a valid service name`);
    if (seen.has(name)) throw new Error(`service "${name}" is listed twice`);
    seen.add(name);
    if (procs === undefined) {
      const known = KNOWN[name];
      if (!known) throw new Error(`unknown service "${name}": write it as ${name}=<process name>`);
      out.push({ name, ...known });
      continue;
    }
    const processNames = procs.split('|').map((s) => s.trim());
    for (const p of processNames) {
      if (!PROCESS.test(p)) throw new Error(`"${p}" is not a process name (1-15 characters, no spaces or slashes)`);
    }
    out.push({ name, processNames, units: [`${name}.service`] });
  }
  return out;
}
