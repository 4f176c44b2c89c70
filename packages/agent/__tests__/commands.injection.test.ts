/**
 * Injection corpus against every command that takes a parameter. Each payload
 * must be refused with CommandRejected (code + param), or pass as one literal
 * argv element; the ones that pass are run for real to prove it. Payloads that
 * would execute something try to create MARKER, which must never appear.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCatalogue, parseCustomCommands, type Catalogue } from '../src/commands/catalogue';
import { CommandRejected, type RejectionCode } from '../src/commands/commandRejected';
import { runProcess } from '../src/commands/runProcess';
import { parseServiceControl } from '../src/commands/serviceControl';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vw-inj-'));
const MARKER = path.join(tmp, 'pwned');
const root = path.join(tmp, 'logs');
const outside = path.join(tmp, 'outside');

const PAYLOADS: string[] = [
  // command separators and substitution
  `; touch ${MARKER}`,
  `x; touch ${MARKER}`,
  `x;touch ${MARKER}`,
  `x && touch ${MARKER}`,
  `x || touch ${MARKER}`,
  `x | touch ${MARKER}`,
  `x & touch ${MARKER}`,
  `\`touch ${MARKER}\``,
  `x\`touch ${MARKER}\``,
  `$(touch ${MARKER})`,
  `x$(touch ${MARKER})`,
  `'; touch ${MARKER}; '`,
  `"; touch ${MARKER}; "`,
  `\\; touch ${MARKER}`,
  `{touch,${MARKER}}`,
  `$((1+1))`,
  `> ${MARKER}`,
  `>> ${MARKER}`,
  `2> ${MARKER}`,
  `< /etc/passwd`,
  // variable expansion
  `\${IFS}touch\${IFS}${MARKER}`,
  `x;touch\${IFS}${MARKER}`,
  `$HOME`,
  `\${PATH}`,
  `!!`,
  // line breaks and control characters
  `x\ntouch ${MARKER}`,
  `x\rtouch ${MARKER}`,
  `x\r\ntouch ${MARKER}`,
  `x\ttouch ${MARKER}`,
  `x\0touch ${MARKER}`,
  `\0`,
  `x\u001b[2J`,
  `x\u007f`,
  `x\u0085touch ${MARKER}`,
  `x\u2028touch ${MARKER}`,
  // option injection
  `-x`,
  `-`,
  `--`,
  `--help`,
  `--version`,
  `--output=${MARKER}`,
  `-n 1 /etc/shadow`,
  `--files0-from=/etc/shadow`,
  // traversal and absolute paths
  `..`,
  `../`,
  `../../../../etc/passwd`,
  `./../../../etc/shadow`,
  `/etc/passwd`,
  `/etc/shadow`,
  `/proc/self/environ`,
  `/root/.ssh/id_rsa`,
  `/dev/zero`,
  // encoded traversal
  `%2e%2e%2f%2e%2e%2fetc%2fpasswd`,
  `..%2f..%2fetc%2fpasswd`,
  `%252e%252e%252f`,
  `..%c0%af..%c0%afetc%c0%afpasswd`,
  `%00`,
  // very long values
  'x'.repeat(10_000),
  `${'a'.repeat(10_000)}; touch ${MARKER}`,
  // Unicode look-alikes, RTL override, invisible characters
  `ngin\u0445`, // Cyrillic х
  `\uff4e\uff47\uff49\uff4e\uff58`, // fullwidth nginx
  `nginx\u200b`,
  `\u202etouch ${MARKER}`,
  `log\u202egol.txt`,
  `x\ud800`,
  // globs and shell-special words
  `*`,
  `?`,
  `[a-z]*`,
  `*.log`,
  `/var/log/*`,
  `~`,
  `~root`,
  `#`,
  // a valid name with something after it
  `nginx; touch ${MARKER}`,
  `nginx && touch ${MARKER}`,
  `nginx\ntouch ${MARKER}`,
  `nginx.service`,
  ` nginx`,
  `nginx `,
  `NGINX`,
  // prototype keys and the empty string
  `__proto__`,
  `constructor`,
  `toString`,
  ``,
];

const label = (p: string) => JSON.stringify(p.length > 60 ? `${p.slice(0, 40)}…(${p.length})` : p);
const cases = PAYLOADS.map((p) => [label(p), p] as const);

/** The outcome of prepare: a refusal, or the argv it built. */
async function attempt(cat: Catalogue, name: string, params: unknown): Promise<{ rejected: CommandRejected } | { argv: string[] }> {
  try {
    return { argv: (await cat.prepare(name, params)).argv };
  } catch (err) {
    if (err instanceof CommandRejected) return { rejected: err };
    throw err;
  }
}

function expectRejected(outcome: Awaited<ReturnType<typeof attempt>>, codes: RejectionCode[], param: string) {
  if (!('rejected' in outcome)) throw new Error(`expected a refusal, got argv ${JSON.stringify(outcome.argv)}`);
  expect(codes).toContain(outcome.rejected.code);
  expect(outcome.rejected.param).toBe(param);
}

let catalogue: Catalogue;
const ran: Record<string, number> = { file: 0, target: 0, text: 0 };

beforeAll(() => {
  fs.mkdirSync(root);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret'), 'SECRET\n');
  fs.symlinkSync('/etc/passwd', path.join(root, 'escape-file'));
  fs.symlinkSync(outside, path.join(root, 'escape-dir'));
  // Files in the log root named after the payloads, so that file-name payloads
  // can pass validation and reach `tail` as a real path.
  for (const p of PAYLOADS) {
    if (p === '' || p === '.' || p === '..' || p.includes('/') || p.includes('\0') || Buffer.byteLength(p) > 255) continue;
    fs.writeFileSync(path.join(root, p), `content of ${JSON.stringify(p)}\n`);
  }
  const services = parseServiceControl({
    nginx: {
      unit: 'nginx.service',
      argv: {
        start: ['/usr/bin/printf', '%s', 'start nginx'],
        stop: ['/usr/bin/printf', '%s', 'stop nginx'],
        restart: ['/usr/bin/printf', '%s', 'restart nginx'],
        status: ['/usr/bin/printf', '%s', 'nginx is running'],
      },
    },
  });
  const customCommands = parseCustomCommands([
    {
      name: 'backup',
      description: 'Back up one target',
      role: 'operator',
      argv: ['/usr/bin/printf', '%s', '{target}'],
      params: { target: { type: 'string', pattern: '^[a-z0-9-]{1,32}$' } },
      timeoutMs: 5000,
    },
    {
      // Deliberately permissive, so that payloads pass validation and the
      // runner has to prove they stay one literal argument.
      name: 'echo',
      description: 'Print one argument',
      role: 'admin',
      argv: ['/usr/bin/printf', '%s', '{text}'],
      params: { text: { type: 'string', pattern: '.{0,200}' } },
      timeoutMs: 5000,
    },
  ]);
  catalogue = createCatalogue({ services, logRoots: [root], customCommands, systemd: false });
});

afterAll(() => {
  expect(fs.existsSync(MARKER)).toBe(false);
  fs.rmSync(tmp, { recursive: true, force: true });
});

afterEach(() => {
  expect(fs.existsSync(MARKER)).toBe(false);
});

test(`the corpus has at least 50 payloads (${PAYLOADS.length})`, () => {
  expect(PAYLOADS.length).toBeGreaterThanOrEqual(50);
});

test('the valid service name passes, so the refusals below are about the payloads', async () => {
  for (const action of ['status', 'start', 'stop', 'restart']) {
    expect(await attempt(catalogue, `service.${action}`, { name: 'nginx' })).toHaveProperty('argv');
  }
});

describe.each(['status', 'start', 'stop', 'restart'])('service.%s name', (action) => {
  test.each(cases)('%s is refused', async (_l, payload) => {
    expectRejected(await attempt(catalogue, `service.${action}`, { name: payload }), ['invalid_params'], 'name');
  });
});

describe('logs.tail file', () => {
  const variants = cases.flatMap(([l, p]) => [
    [`${l} as given`, p],
    [`${l} under the root`, `${root}/${p}`],
  ]);
  const extras: Array<[string, string]> = [
    ['symlink in the root to /etc/passwd', `${root}/escape-file`],
    ['symlinked directory leading out of the root', `${root}/escape-dir/secret`],
    ['.. out of the root', `${root}/../outside/secret`],
    ['.. out and back into a sibling named like the root', `${root}/../logs-evil/x`],
    ['the root itself (a directory)', root],
  ];

  test.each([...variants, ...extras])('%s: refused, or tailed as that literal file', async (_l, file) => {
    const outcome = await attempt(catalogue, 'logs.tail', { file, lines: 5 });
    if ('rejected' in outcome) {
      expectRejected(outcome, ['invalid_params', 'path_not_allowed'], 'file');
      return;
    }
    expect(outcome.argv).toHaveLength(5);
    expect(outcome.argv.slice(0, 4)).toEqual(['tail', '-n', '5', '--']);
    const real = outcome.argv[4];
    expect(real).toBe(fs.realpathSync(file));
    expect(path.dirname(real!)).toBe(fs.realpathSync(root));
    const r = await runProcess(outcome.argv, { timeoutMs: 5000 });
    expect(r.status).toBe('completed');
    expect(r.stdout).toBe(fs.readFileSync(real!, 'utf8'));
    ran.file!++;
  });
});

describe('logs.tail lines', () => {
  const numeric: Array<[string, unknown]> = [
    ['0', 0],
    ['5001', 5001],
    ['-1', -1],
    ['"-1"', '-1'],
    ['1.5', 1.5],
    ['"1e3"', '1e3'],
    ['"0x10"', '0x10'],
    ['"10 "', '10 '],
    ['"10;"', '10;'],
    ['"+5"', '+5'],
    ['Infinity', Infinity],
    ['true', true],
    ['[5]', [5]],
    ['{}', {}],
  ];
  test.each([...cases, ...numeric])('%s is refused', async (_l, lines) => {
    expectRejected(await attempt(catalogue, 'logs.tail', { file: `${root}/*`, lines }), ['invalid_params'], 'lines');
  });
});

/** A custom command printing its one argument: refused, or the program receives exactly the payload. */
async function refusedOrPrintedBack(command: string, param: string, payload: string): Promise<void> {
  const outcome = await attempt(catalogue, command, { [param]: payload });
  if ('rejected' in outcome) {
    expectRejected(outcome, ['invalid_params'], param);
    return;
  }
  expect(outcome.argv).toEqual(['/usr/bin/printf', '%s', payload]);
  const r = await runProcess(outcome.argv, { timeoutMs: 5000 });
  expect(r).toMatchObject({ status: 'completed', stdout: payload });
  ran[param]!++;
}

describe('custom.backup target (pattern ^[a-z0-9-]{1,32}$)', () => {
  test.each(cases)('%s: refused, or printed back byte for byte', (_l, payload) => refusedOrPrintedBack('custom.backup', 'target', payload));
});

describe('custom.echo text (permissive pattern)', () => {
  test.each(cases)('%s: refused, or printed back byte for byte', (_l, payload) => refusedOrPrintedBack('custom.echo', 'text', payload));
});

test('payloads did reach real processes (the literal path was exercised)', () => {
  expect(ran.file).toBeGreaterThanOrEqual(30);
  expect(ran.text).toBeGreaterThanOrEqual(30);
  // Of the whole corpus only "constructor" matches ^[a-z0-9-]{1,32}$ (the dash-led ones are refused as options).
  expect(ran.target).toBe(1);
});
