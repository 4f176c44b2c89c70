import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProcess } from '../src/commands/runProcess';

const MiB = 1024 * 1024;
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vw-run-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Non-zombie members of a process group, read straight from /proc (independent of the code under test). */
function liveMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(f[2]) === pgid && f[0] !== 'Z') out.push(Number(name));
  }
  return out;
}

function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

test('completed: every argv element reaches the program literally, exit 0', async () => {
  const r = await runProcess(['printf', '%s|', 'a b', '$(id)', '`id`', '*', '; id'], { timeoutMs: 5000 });
  expect(r).toMatchObject({ status: 'completed', exitCode: 0, signal: null, stdout: 'a b|$(id)|`id`|*|; id|', truncated: false });
  expect(r.pid).toEqual(expect.any(Number));
});

test('non-zero exit → failed with the exit code and stderr', async () => {
  const r = await runProcess(['ls', path.join(tmp, 'does-not-exist')], { timeoutMs: 5000 });
  expect(r.status).toBe('failed');
  expect(r.exitCode).toBe(2);
  expect(r.stderr).toMatch(/No such file or directory/);
});

test('missing program → failed, exitCode null, stderr says why', async () => {
  const r = await runProcess(['/nonexistent/bin/tool', '--x'], { timeoutMs: 5000 });
  expect(r).toMatchObject({ status: 'failed', exitCode: null, signal: null, pid: null, stdout: '' });
  expect(r.stderr).toBe('could not start "/nonexistent/bin/tool": ENOENT (spawn /nonexistent/bin/tool ENOENT)');
});

test('program without the execute bit → failed with EACCES', async () => {
  const file = path.join(tmp, 'not-executable');
  fs.writeFileSync(file, '#!/bin/sh\necho hi\n', { mode: 0o644 });
  const r = await runProcess([file], { timeoutMs: 5000 });
  expect(r.status).toBe('failed');
  expect(r.stderr).toMatch(/EACCES/);
});

test('killed by a signal it did not get from us → failed with the signal', async () => {
  const r = await runProcess(['sh', '-c', 'kill -KILL $$'], { timeoutMs: 5000 });
  expect(r).toMatchObject({ status: 'failed', exitCode: null, signal: 'SIGKILL' });
});

test('timeout kills the program, its children and grandchildren', async () => {
  // sh prints its background children's PIDs, so we can check them by number too.
  const r = await runProcess(['sh', '-c', 'sleep 100 & echo $!; (sleep 100 & echo $!; wait) & wait'], { timeoutMs: 300 });
  expect(r.status).toBe('timed_out');
  expect(r.durationMs).toBeLessThan(2000); // died on SIGTERM: no wait for the grace period
  const pgid = r.pid!;
  const started = r.stdout.trim().split('\n').map(Number);
  expect(started).toHaveLength(2);
  expect(liveMembers(pgid)).toEqual([]);
  for (const pid of started) expect(isAlive(pid)).toBe(false);
});

test('timeout escalates to SIGKILL when the group ignores SIGTERM', async () => {
  const r = await runProcess(['sh', '-c', 'trap "" TERM; sleep 100 & echo $!; wait'], { timeoutMs: 200, killGraceMs: 200 });
  expect(r.status).toBe('timed_out');
  expect(r.signal).toBe('SIGKILL');
  expect(r.durationMs).toBeGreaterThanOrEqual(400);
  expect(r.durationMs).toBeLessThan(2000);
  expect(liveMembers(r.pid!)).toEqual([]);
  expect(isAlive(Number(r.stdout.trim()))).toBe(false);
});

test('a daemonised grandchild holding the pipes does not hang the call', async () => {
  // setsid leaves the group, so nothing we do may kill it: it could be the daemon a start script launched.
  const r = await runProcess(['sh', '-c', 'setsid sleep 30 & echo $!'], { timeoutMs: 5000 });
  const daemon = Number(r.stdout.trim());
  try {
    expect(r.status).toBe('completed');
    expect(r.durationMs).toBeLessThan(2000);
    expect(isAlive(daemon)).toBe(true);
  } finally {
    process.kill(daemon, 'SIGKILL');
  }
});

test('stdin is closed: a program reading it sees EOF at once', async () => {
  const r = await runProcess(['cat'], { timeoutMs: 2000 });
  expect(r).toMatchObject({ status: 'completed', stdout: '' });
});

test('10 MiB of output: at most the cap is kept, truncated, quickly', async () => {
  const r = await runProcess(['head', '-c', String(10 * MiB), '/dev/zero'], { timeoutMs: 10_000, maxOutputBytes: MiB });
  expect(r.status).toBe('completed');
  expect(r.truncated).toBe(true);
  expect(Buffer.byteLength(r.stdout)).toBe(MiB);
  expect(r.durationMs).toBeLessThan(3000);
});

test('the cap applies to stderr separately and never splits a character', async () => {
  const r = await runProcess(['sh', '-c', 'head -c 3000000 /dev/zero >&2; printf "%s" ééééé'], { timeoutMs: 10_000, maxOutputBytes: 5 });
  expect(r.truncated).toBe(true);
  expect(r.stdout).toBe('éé'); // 4 of the 5 bytes: the third é would have been cut in half
  expect(Buffer.byteLength(r.stderr)).toBe(5);
});

test('a 200 MiB producer with a 1 MiB cap leaves the agent memory bounded', async () => {
  const before = process.memoryUsage().rss;
  const r = await runProcess(['head', '-c', String(200 * MiB), '/dev/zero'], { timeoutMs: 15_000, maxOutputBytes: MiB });
  const growth = process.memoryUsage().rss - before;
  expect(r).toMatchObject({ status: 'completed', truncated: true });
  expect(Buffer.byteLength(r.stdout)).toBe(MiB);
  expect(r.durationMs).toBeLessThan(5000);
  expect(growth).toBeLessThan(20 * MiB);
});

test("the child gets a minimal environment, not the agent's", async () => {
  process.env.VIWORKS_TEST_SECRET = 'hunter2';
  try {
    const r = await runProcess(['env'], { timeoutMs: 2000 });
    expect(r.stdout.trim().split('\n').sort()).toEqual(['LANG=C.UTF-8', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/sbin:/usr/local/bin']);
    const extra = await runProcess(['env'], { timeoutMs: 2000, env: { TZ: 'UTC' } });
    expect(extra.stdout).toMatch(/^TZ=UTC$/m);
    expect(extra.stdout).not.toMatch(/hunter2/);
  } finally {
    delete process.env.VIWORKS_TEST_SECRET;
  }
});

test('cwd is honoured', async () => {
  const r = await runProcess(['pwd'], { timeoutMs: 2000, cwd: tmp });
  expect(r.stdout.trim()).toBe(fs.realpathSync(tmp));
});

const asRoot = process.getuid?.() === 0 ? test : test.skip;
asRoot('uid/gid drop privileges, supplementary groups included', async () => {
  const r = await runProcess(['id'], { timeoutMs: 2000, uid: 65534, gid: 65534 });
  expect(r.stdout.trim()).toMatch(/^uid=65534\(\w+\) gid=65534\(\w+\) groups=65534\(\w+\)$/);
});

test.each<[string, readonly string[], object]>([
  ['empty argv', [], {}],
  ['empty program', [''], {}],
  ['NUL in an argument', ['echo', 'a\0b'], {}],
  ['non-string argument', ['echo', 5 as unknown as string], {}],
  ['uid without gid (would keep group root)', ['id'], { uid: 65534 }],
  ['zero timeout', ['true'], { timeoutMs: 0 }],
])('rejects a programming error: %s', async (_label, argv, extra) => {
  await expect(runProcess(argv, { timeoutMs: 1000, ...extra })).rejects.toThrow(TypeError);
});
