import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openAuditLog } from '../src/audit/auditLog';

// The CLI runs from its TypeScript source through ts-node, so the test never runs a stale dist/.
const repo = path.resolve(__dirname, '../../..');
const cli = path.join(repo, 'packages/agent/src/auditCli.ts');

function runCli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', cli, ...args],
      { cwd: repo, env: { ...process.env, NODE_OPTIONS: '', TS_NODE_PROJECT: path.join(repo, 'tsconfig.test.json') } },
      (err, stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stdout, stderr }),
    );
  });
}

let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'viworks-audit-cli-'));
  const log = await openAuditLog({ dir, maxFileBytes: 1000 });
  for (let i = 0; i < 5; i++) await log.append({ actor: 'anonymous', ip: '192.0.2.9', action: 'auth', result: 'denied', detail: 'unknown key' });
  await log.close();
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test('verify <dir> on an intact log prints OK and exits 0', async () => {
  const files = fs.readdirSync(dir).length;
  expect(files).toBeGreaterThan(1);
  expect(await runCli('verify', dir)).toMatchObject({ code: 0, stdout: `OK: 5 entries in ${files} files\n` });
});

test('verify <dir> on a tampered log names the first broken entry and exits 1', async () => {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'viworks-audit-cli-'));
  try {
    fs.cpSync(dir, copy, { recursive: true });
    const oldest = fs.readdirSync(copy).filter((n) => n !== 'audit.log').sort()[0]!;
    const file = path.join(copy, oldest);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines[2] = lines[2]!.replace('unknown key', 'valid key'); // seq 2, after the header and seq 1
    fs.writeFileSync(file, lines.join('\n'));

    const { code, stdout } = await runCli('verify', copy);
    expect(code).toBe(1);
    expect(stdout).toBe(`BROKEN at ${file}:3 (seq 2): hash does not match the content: the entry was altered\n`);
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
});

test.each([[[]], [['verify']], [['check', '/tmp']], [['verify', 'a', 'b']]])('usage error %j exits 2', async (args) => {
  const { code, stderr } = await runCli(...args);
  expect(code).toBe(2);
  expect(stderr).toMatch(/usage: auditCli verify <dir>/);
});

test('a directory that cannot be read exits 2', async () => {
  const { code, stderr } = await runCli('verify', path.join(dir, 'missing'));
  expect(code).toBe(2);
  expect(stderr).toMatch(/cannot read .*missing: ENOENT/);
});
