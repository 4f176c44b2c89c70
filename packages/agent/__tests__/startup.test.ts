import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// The compiled agent (npm test builds it first), started as a real process.
const MAIN = path.join(__dirname, '..', 'dist', 'main.js');

function run(env: Record<string, string>, untilLine?: RegExp): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH!, AGENT_PORT: '0', AGENT_LOG_LEVEL: 'info', ...env } });
    let output = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (untilLine && untilLine.test(output)) child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vw-start-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

test('refuses to start without any credential, and says how to fix it', async () => {
  const { code, output } = await run({ AGENT_DATA_DIR: dataDir });
  expect(code).toBe(78);
  expect(output).toMatch(/refusing to start without credentials: set AGENT_KEYS_FILE/);
});

test('a bad variable stops start-up with its name', async () => {
  const { code, output } = await run({ AGENT_DATA_DIR: dataDir, AGENT_PORT: 'http' });
  expect(code).toBe(78);
  expect(output).toMatch(/invalid AGENT_PORT/);
});

test('an empty or broken key file is refused at start', async () => {
  const file = path.join(dataDir, 'keys.json');
  fs.writeFileSync(file, '{"keys": []}');
  expect((await run({ AGENT_DATA_DIR: dataDir, AGENT_KEYS_FILE: file })).code).toBe(78);
  fs.writeFileSync(file, '{"keys": [{"id": "x", "role": "god", "hash": "sha256:00"}]}');
  const broken = await run({ AGENT_DATA_DIR: dataDir, AGENT_KEYS_FILE: file });
  expect(broken.code).toBe(78);
  expect(broken.output).toMatch(/keys\.0\.role/);
});

test('the development flag starts it, with a loud warning', async () => {
  const { output } = await run({ AGENT_DATA_DIR: dataDir, AGENT_INSECURE_NO_AUTH: 'true' }, /listening on/);
  expect(output).toMatch(/EVERY CALLER WITHOUT A CREDENTIAL IS ADMIN/);
  expect(output).toMatch(/viworks-agent listening on http:\/\/127\.0\.0\.1:\d+/);
});
