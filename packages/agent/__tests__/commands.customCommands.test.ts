import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCatalogue } from '../src/commands/catalogue';
import { rejection } from './commands.support';
import { parseCustomCommands, type CustomCommandConfig } from '../src/commands/customCommands';
import { runProcess } from '../src/commands/runProcess';

const backup = {
  name: 'backup',
  description: 'Back up one target',
  role: 'operator',
  argv: ['/usr/bin/printf', '%s|', '--target', '{target}', '--keep', '{keep}'],
  params: {
    target: { type: 'string', pattern: '^[a-z0-9-]{1,32}$' },
    keep: { type: 'integer', min: 1, max: 30, default: 7 },
  },
  timeoutMs: 5000,
};

/** backup with one change applied at a dotted path. */
function variant(change: (c: typeof backup & Record<string, unknown>) => void) {
  const c = structuredClone(backup) as typeof backup & Record<string, unknown>;
  change(c);
  return c;
}

test('a valid entry is parsed, defaults filled in, frozen', () => {
  const [cmd] = parseCustomCommands([{ ...backup, role: undefined, timeoutMs: undefined }]);
  expect(cmd).toMatchObject({ name: 'backup', role: 'admin', timeoutMs: 60_000 });
  expect(Object.isFrozen(cmd!.argv)).toBe(true);
});

test.each<[string, unknown, RegExp]>([
  ['placeholder inside a larger string', variant((c) => (c.argv[2] = '--target={target}')), /^custom command "backup": argv\[2\]: a placeholder must be a whole argv element/],
  ['placeholder glued to another', variant((c) => (c.argv[3] = '{target}{keep}')), /^custom command "backup": argv\[3\]: a placeholder must be a whole/],
  ['string param without pattern or enum', variant((c) => delete (c.params.target as { pattern?: string }).pattern), /^custom command "backup": params\.target\.pattern: a string param needs a pattern or an enum/],
  ['relative argv[0]', variant((c) => (c.argv[0] = 'usr/bin/printf')), /^custom command "backup": argv\[0\]: must be an absolute path/],
  ['bare program name', variant((c) => (c.argv[0] = 'printf')), /^custom command "backup": argv\[0\]: must be an absolute path/],
  ['placeholder as the program', variant((c) => (c.argv = ['{target}'])), /^custom command "backup": argv\[0\]: must be an absolute path/],
  ['a shell as the program', variant((c) => (c.argv = ['/bin/sh', '-c', '{target}'])), /^custom command "backup": argv\[0\]: runs a shell/],
  ['env as the program', variant((c) => (c.argv = ['/usr/bin/env', '{target}'])), /^custom command "backup": argv\[0\]: runs a shell or a command launcher/],
  ['placeholder without a param', variant((c) => c.argv.push('{extra}')), /^custom command "backup": argv\[6\]: placeholder \{extra\} has no entry in params/],
  ['param not used in argv', variant((c) => (c.argv = c.argv.slice(0, 4))), /^custom command "backup": params\.keep: is not used in argv/],
  ['integer without bounds', variant((c) => delete (c.params.keep as { max?: number }).max), /^custom command "backup": params\.keep\.max: an integer param needs min and max/],
  ['pattern that does not compile', variant((c) => (c.params.target.pattern = '([a-z')), /^custom command "backup": params\.target\.pattern: is not a valid regular expression/],
  ['default failing its own pattern', variant((c) => ((c.params.target as { default?: string }).default = 'Bad Value')), /^custom command "backup": params\.target\.default: does not pass its own checks/],
  ['optional param without default', variant((c) => ((c.params.target as { required?: boolean }).required = false)), /^custom command "backup": params\.target\.default: an optional param needs a default/],
  ['misspelt field (would silently drop the check)', variant((c) => ((c.params.target as Record<string, unknown>).patern = 'x')), /^custom command "backup": params\.target: Unrecognized key: "patern"/],
  ['unknown role', variant((c) => (c.role = 'root')), /^custom command "backup": role: /],
  ['name with a space', variant((c) => (c.name = 'my backup')), /^custom command "my backup": name: must be/],
  ['control character in argv', variant((c) => (c.argv[1] = 'a\nb')), /^custom command "backup": argv\[1\]: must not contain control characters/],
  ['timeout too long', variant((c) => (c.timeoutMs = 86_400_000)), /^custom command "backup": timeoutMs: /],
])('%s → error naming the command and field', (_label, entry, message) => {
  expect(() => parseCustomCommands([entry])).toThrow(message);
});

test('entries without a usable name are named by position', () => {
  expect(() => parseCustomCommands([backup, { description: 'x' }])).toThrow(/^custom command #1: name: /);
});

test('duplicate names are refused', () => {
  expect(() => parseCustomCommands([backup, backup])).toThrow(/^custom command "backup": name: is used by an earlier command/);
});

test('the list itself must be an array', () => {
  expect(() => parseCustomCommands({ backup })).toThrow(/must be an array/);
});

test('literal braces that are not placeholders are allowed', () => {
  expect(() => parseCustomCommands([variant((c) => (c.argv[1] = '{{json .}}'))])).not.toThrow();
});

describe('in the catalogue', () => {
  test('off by default: custom.* is refused as custom_commands_disabled and not listed', async () => {
    const cat = createCatalogue({ services: {}, logRoots: [], systemd: false });
    expect(cat.list().some((c) => c.name.startsWith('custom.'))).toBe(false);
    expect((await rejection(cat.prepare('custom.backup', { target: 'db' }))).code).toBe('custom_commands_disabled');
  });

  test('on with an empty list: custom.* is simply unknown', async () => {
    const cat = createCatalogue({ services: {}, logRoots: [], systemd: false, customCommands: [] });
    expect((await rejection(cat.prepare('custom.backup', {}))).code).toBe('unknown_command');
  });

  test('enabled: listed under custom.<name>, validated, run as one element per placeholder', async () => {
    const cat = createCatalogue({ services: {}, logRoots: [], systemd: false, customCommands: parseCustomCommands([backup]) });
    expect(cat.list().find((c) => c.name === 'custom.backup')).toMatchObject({ role: 'operator', description: 'Back up one target' });
    const p = await cat.prepare('custom.backup', { target: 'db-1' });
    expect(p.argv).toEqual(['/usr/bin/printf', '%s|', '--target', 'db-1', '--keep', '7']);
    const r = await runProcess(p.argv, { timeoutMs: p.def.timeoutMs });
    expect(r).toMatchObject({ status: 'completed', stdout: '--target|db-1|--keep|7|' });
    const err = await rejection(cat.prepare('custom.backup', { target: 'db 1' }));
    expect([err.code, err.param]).toEqual(['invalid_params', 'target']);
  });

  test('config that skipped parseCustomCommands is validated anyway', () => {
    const raw = { ...backup, argv: ['/usr/bin/printf', '--target={target}', '{keep}'] } as unknown as CustomCommandConfig;
    expect(() => createCatalogue({ services: {}, logRoots: [], systemd: false, customCommands: [raw] })).toThrow(
      /^custom command "backup": argv\[1\]: a placeholder must be a whole argv element/,
    );
    expect(() =>
      createCatalogue({ services: { nginx: { argv: { start: ['nginx'] } } }, logRoots: [], systemd: false }),
    ).toThrow(/^service "nginx": argv\.start\[0\]: must be an absolute path/);
  });

  test('a path param is realpath-checked against its own roots', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vw-custom-'));
    try {
      fs.writeFileSync(path.join(tmp, 'a.dump'), 'x');
      fs.symlinkSync('/etc/passwd', path.join(tmp, 'b.dump'));
      const [restore] = parseCustomCommands([
        {
          name: 'restore',
          description: 'Restore a dump',
          argv: ['/usr/bin/printf', '%s', '{dump}'],
          params: { dump: { type: 'string', kind: 'path', allowedRoots: [tmp], pattern: '/.*\\.dump' } },
        },
      ]);
      const cat = createCatalogue({ services: {}, logRoots: [], systemd: false, customCommands: [restore!] });
      expect((await cat.prepare('custom.restore', { dump: `${tmp}/a.dump` })).argv[2]).toBe(fs.realpathSync(`${tmp}/a.dump`));
      const err = await rejection(cat.prepare('custom.restore', { dump: `${tmp}/b.dump` }));
      expect([err.code, err.param]).toEqual(['path_not_allowed', 'dump']);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
