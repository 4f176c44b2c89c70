import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCatalogue, type Catalogue } from '../src/commands/catalogue';
import { rejection } from './commands.support';
import { runProcess } from '../src/commands/runProcess';
import { parseServiceControl, type ServiceControlConfig } from '../src/commands/serviceControl';

let tmp: string;
let logRoot: string;
let services: ServiceControlConfig;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vw-cat-'));
  logRoot = path.join(tmp, 'log');
  fs.mkdirSync(logRoot);
  fs.writeFileSync(path.join(logRoot, 'app.log'), Array.from({ length: 50 }, (_, i) => `line ${i + 1}`).join('\n') + '\n');
  services = parseServiceControl({
    nginx: { unit: 'nginx.service', argv: { status: ['/usr/bin/printf', '%s', 'nginx is running'] } },
    redis: { unit: 'redis-server.service' },
  });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const BUILT_INS = [
  ['system.uptime', 'viewer'],
  ['disk.usage', 'viewer'],
  ['docker.ps', 'viewer'],
  ['service.start', 'operator'],
  ['service.stop', 'operator'],
  ['service.restart', 'operator'],
  ['service.status', 'viewer'],
  ['logs.tail', 'operator'],
];

describe('with systemd', () => {
  let cat: Catalogue;
  beforeAll(() => {
    cat = createCatalogue({ services, logRoots: [logRoot], systemd: true });
  });

  test('lists the built-ins with their roles, and no custom commands by default', () => {
    expect(cat.list().map((c) => [c.name, c.role])).toEqual(BUILT_INS);
    expect(cat.list().find((c) => c.name === 'service.restart')!.params).toEqual({
      name: { type: 'string', enum: ['nginx', 'redis'], required: true },
    });
  });

  test.each<[string, unknown, string[]]>([
    ['system.uptime', undefined, ['uptime']],
    ['disk.usage', {}, ['df', '-P', '-k']],
    ['docker.ps', {}, ['docker', 'ps', '--all', '--format', '{{json .}}']],
    ['service.status', { name: 'nginx' }, ['systemctl', 'status', '--', 'nginx.service']],
    ['service.start', { name: 'redis' }, ['systemctl', 'start', '--', 'redis-server.service']],
    ['service.stop', { name: 'redis' }, ['systemctl', 'stop', '--', 'redis-server.service']],
    ['service.restart', { name: 'nginx' }, ['systemctl', 'restart', '--', 'nginx.service']],
  ])('%s %j → %j', async (name, params, argv) => {
    const prepared = await cat.prepare(name, params);
    expect(prepared.argv).toEqual(argv);
    expect(prepared.def.name).toBe(name);
  });

  test('logs.tail: realpath, default 100 lines, "--" before the path', async () => {
    const file = path.join(logRoot, 'app.log');
    expect((await cat.prepare('logs.tail', { file })).argv).toEqual(['tail', '-n', '100', '--', fs.realpathSync(file)]);
    const p = await cat.prepare('logs.tail', { file: `${logRoot}/./app.log`, lines: '3' });
    expect(p.argv).toEqual(['tail', '-n', '3', '--', fs.realpathSync(file)]);
    expect(p.params).toEqual({ file: fs.realpathSync(file), lines: 3 });
  });

  test.each<[string, string, unknown, string, string | undefined]>([
    ['unknown command', 'shell.exec', { cmd: 'id' }, 'unknown_command', undefined],
    ['custom command while custom commands are off', 'custom.backup', {}, 'custom_commands_disabled', undefined],
    ['params not an object', 'service.status', ['nginx'], 'invalid_params', undefined],
    ['unknown param', 'system.uptime', { verbose: true }, 'invalid_params', 'verbose'],
    ['extra param next to a valid one', 'service.status', { name: 'nginx', unit: 'sshd.service' }, 'invalid_params', 'unit'],
    ['missing required', 'service.status', {}, 'invalid_params', 'name'],
    ['service not on the allow-list', 'service.restart', { name: 'sshd' }, 'invalid_params', 'name'],
    ['file missing', 'logs.tail', { lines: 5 }, 'invalid_params', 'file'],
    ['file outside the root', 'logs.tail', { file: '/etc/passwd' }, 'path_not_allowed', 'file'],
    ['file that does not exist', 'logs.tail', { file: `${'/nope'}/x.log` }, 'path_not_allowed', 'file'],
  ])('%s → %s', async (_label, name, params, code, param) => {
    const err = await rejection(cat.prepare(name, params));
    expect(err.code).toBe(code);
    expect(err.param).toBe(param);
  });

  test('a non-string command name is refused without echoing it', async () => {
    const err = await rejection(cat.prepare({ toString: () => 'x' } as unknown as string, {}));
    expect(err.code).toBe('unknown_command');
    expect(err.message).toBe('unknown command');
  });

  test('definitions are frozen and list() hands out copies', async () => {
    const listed = cat.list().find((c) => c.name === 'service.restart')!;
    listed.params.name!.enum!.push('sshd');
    expect((await rejection(cat.prepare('service.restart', { name: 'sshd' }))).param).toBe('name');
    const def = cat.get('service.restart')!;
    expect(Object.isFrozen(def.params.name!.enum)).toBe(true);
    const { argv } = await cat.prepare('system.uptime', {});
    argv.push('--evil');
    expect((await cat.prepare('system.uptime', {})).argv).toEqual(['uptime']);
  });

  test('get() exposes the role before any param is looked at', () => {
    expect(cat.get('logs.tail')?.role).toBe('operator');
    expect(cat.get('nope')).toBeUndefined();
  });
});

describe('without systemd', () => {
  let cat: Catalogue;
  beforeAll(() => {
    cat = createCatalogue({ services, logRoots: [logRoot], systemd: false, dockerSocket: '/run/custom/docker.sock' });
  });

  test('services are offered only for the actions they have an argv for', async () => {
    const enumOf = (name: string) => cat.list().find((c) => c.name === name)!.params.name!.enum;
    expect(enumOf('service.status')).toEqual(['nginx']);
    expect(enumOf('service.restart')).toEqual([]);
    expect((await cat.prepare('service.status', { name: 'nginx' })).argv).toEqual(['/usr/bin/printf', '%s', 'nginx is running']);
    const err = await rejection(cat.prepare('service.restart', { name: 'nginx' }));
    expect([err.code, err.param]).toEqual(['invalid_params', 'name']);
  });

  test('docker.ps talks to the configured socket', async () => {
    expect((await cat.prepare('docker.ps', {})).argv).toEqual([
      'docker',
      '--host',
      'unix:///run/custom/docker.sock',
      'ps',
      '--all',
      '--format',
      '{{json .}}',
    ]);
  });
});

describe('on the live host', () => {
  let cat: Catalogue;
  beforeAll(() => {
    cat = createCatalogue({ services, logRoots: [logRoot], systemd: false });
  });
  const run = async (name: string, params?: unknown) => {
    const { def, argv } = await cat.prepare(name, params);
    return runProcess(argv, { timeoutMs: def.timeoutMs });
  };

  test('system.uptime', async () => {
    expect(await run('system.uptime')).toMatchObject({ status: 'completed', stdout: expect.stringMatching(/load average/) });
  });

  test('disk.usage', async () => {
    const r = await run('disk.usage');
    expect(r.status).toBe('completed');
    expect(r.stdout).toMatch(/^Filesystem\s+1024-blocks\s+Used\s+Available\s+Capacity\s+Mounted on/);
  });

  test('docker.ps finds the docker CLI on the minimal PATH (the daemon may be absent)', async () => {
    const r = await run('docker.ps');
    expect(r.stderr).not.toMatch(/could not start/);
    if (r.status !== 'completed') expect(r.stderr).toMatch(/Cannot connect to the Docker daemon|permission denied/i);
  });

  test('service.status through the configured argv', async () => {
    expect(await run('service.status', { name: 'nginx' })).toMatchObject({ status: 'completed', stdout: 'nginx is running' });
  });

  test('logs.tail returns the last lines', async () => {
    const r = await run('logs.tail', { file: path.join(logRoot, 'app.log'), lines: 3 });
    expect(r).toMatchObject({ status: 'completed', stdout: 'line 48\nline 49\nline 50\n' });
  });
});
