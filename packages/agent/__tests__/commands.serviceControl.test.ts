import { CommandRejected } from '../src/commands/commandRejected';
import {
  parseServiceControl,
  serviceActionArgv,
  serviceControlFromDefinitions,
  servicesSupporting,
  type ServiceAction,
} from '../src/commands/serviceControl';
import { DEFAULT_SERVICES } from '../src/sampling/serviceCatalogue';

const cfg = parseServiceControl({
  nginx: {
    unit: 'nginx.service',
    argv: { start: ['/usr/sbin/nginx'], stop: ['/usr/sbin/nginx', '-s', 'stop'], restart: ['/usr/sbin/nginx', '-s', 'reload'] },
  },
  'postgresql@15-main': { unit: 'postgresql@15-main.service' },
  legacy: { argv: { status: ['/etc/init.d/legacy', 'status'] } },
});

function rejected(fn: () => unknown): CommandRejected {
  try {
    fn();
  } catch (err) {
    if (err instanceof CommandRejected) return err;
    throw err;
  }
  throw new Error('expected CommandRejected');
}

test.each<[string, ServiceAction, boolean, string[]]>([
  ['nginx', 'restart', true, ['systemctl', 'restart', '--', 'nginx.service']],
  ['nginx', 'status', true, ['systemctl', 'status', '--', 'nginx.service']],
  ['postgresql@15-main', 'stop', true, ['systemctl', 'stop', '--', 'postgresql@15-main.service']],
  ['nginx', 'restart', false, ['/usr/sbin/nginx', '-s', 'reload']],
  ['nginx', 'start', false, ['/usr/sbin/nginx']],
  // systemd running but no unit configured: the explicit argv is used
  ['legacy', 'status', true, ['/etc/init.d/legacy', 'status']],
])('%s %s (systemd %s) → %j', (name, action, systemd, argv) => {
  expect(serviceActionArgv(cfg, name, action, systemd)).toEqual(argv);
});

test('the argv returned is a copy', () => {
  serviceActionArgv(cfg, 'nginx', 'stop', false).push('--evil');
  expect(serviceActionArgv(cfg, 'nginx', 'stop', false)).toEqual(['/usr/sbin/nginx', '-s', 'stop']);
});

test.each([['sshd'], ['NGINX'], ['nginx.service'], ['__proto__'], ['constructor'], ['toString'], ['hasOwnProperty'], ['']])(
  'unknown service %j → invalid_params on "name"',
  (name) => {
    const err = rejected(() => serviceActionArgv(cfg, name, 'restart', true));
    expect([err.code, err.param]).toEqual(['invalid_params', 'name']);
  },
);

test('an action the service has no way to do here → invalid_params on "name"', () => {
  const err = rejected(() => serviceActionArgv(cfg, 'nginx', 'status', false));
  expect([err.code, err.param]).toEqual(['invalid_params', 'name']);
  expect(err.message).toMatch(/systemd is not running/);
  expect(rejected(() => serviceActionArgv(cfg, 'postgresql@15-main', 'restart', false)).param).toBe('name');
});

test('an unknown action → unknown_command', () => {
  expect(rejected(() => serviceActionArgv(cfg, 'nginx', 'reload' as ServiceAction, true)).code).toBe('unknown_command');
});

test('servicesSupporting lists what each action can reach', () => {
  expect(servicesSupporting(cfg, 'status', true)).toEqual(['nginx', 'postgresql@15-main', 'legacy']);
  expect(servicesSupporting(cfg, 'status', false)).toEqual(['legacy']);
  expect(servicesSupporting(cfg, 'restart', false)).toEqual(['nginx']);
});

test.each<[string, unknown, RegExp]>([
  ['relative argv[0]', { nginx: { argv: { start: ['nginx'] } } }, /^service "nginx": argv\.start\[0\]: must be an absolute path$/],
  ['unit starting with -', { nginx: { unit: '--now' } }, /^service "nginx": unit: must be a systemd unit name$/],
  ['unit with a space', { nginx: { unit: 'nginx service' } }, /^service "nginx": unit: /],
  ['neither unit nor argv', { nginx: {} }, /^service "nginx": needs a unit or at least one argv$/],
  ['unknown action', { nginx: { argv: { reload: ['/usr/sbin/nginx', '-s', 'reload'] } } }, /^service "nginx": argv: Unrecognized key: "reload"$/],
  ['misspelt field', { nginx: { unti: 'nginx.service' } }, /^service "nginx": Unrecognized key: "unti"$/],
  ['name starting with -', { '-x': { unit: 'x.service' } }, /^service "-x": not a valid service name$/],
  ['NUL in argv', { nginx: { argv: { start: ['/usr/sbin/nginx', 'a\0b'] } } }, /^service "nginx": argv\.start\[1\]: must not contain control characters$/],
  ['not an object', ['nginx'], /must be an object/],
])('parseServiceControl: %s', (_label, json, message) => {
  expect(() => parseServiceControl(json)).toThrow(message);
});

test('parsed config is frozen', () => {
  expect(Object.isFrozen(cfg.nginx!.argv!.start)).toBe(true);
});

test('from the sampling catalogue: first unit of each service, never the agent itself', () => {
  const fromDefaults = serviceControlFromDefinitions(DEFAULT_SERVICES);
  expect(fromDefaults).toMatchObject({ nginx: { unit: 'nginx.service' }, sshd: { unit: 'ssh.service' } });
  expect(Object.keys(fromDefaults)).not.toContain('viworks-agent');
});
