import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CommandRejected } from '../src/commands/commandRejected';
import { followLog, MAX_LINE_BYTES, resolveLogPath } from '../src/commands/logFiles';
import { isInsideRoot } from '../src/commands/resolvePathUnderRoots';

let tmp: string;
let root: string;
let outside: string;

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vw-logs-'));
  root = path.join(tmp, 'log');
  outside = path.join(tmp, 'secret');
  fs.mkdirSync(root);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(root, 'app.log'), 'a\n');
  fs.writeFileSync(path.join(outside, 'key'), 'KEY\n');
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

test.each<[string, string, boolean]>([
  ['/var/log', '/var/log', true],
  ['/var/log', '/var/log/nginx/access.log', true],
  ['/var/log', '/var/logs/x', false],
  ['/var/log', '/var/log..x', false], // a sibling whose name starts with "log.."
  ['/var/log', '/var', false],
  ['/var/log', '/etc/passwd', false],
  ['/', '/etc/passwd', true],
])('isInsideRoot(%s, %s) = %s', (root, candidate, inside) => {
  expect(isInsideRoot(root, candidate)).toBe(inside);
});

describe('resolveLogPath', () => {
  async function refusal(file: string, roots = [root]): Promise<CommandRejected> {
    try {
      await resolveLogPath(file, roots);
    } catch (err) {
      if (err instanceof CommandRejected) return err;
      throw err;
    }
    throw new Error(`expected ${file} to be refused`);
  }

  test('a file under the root resolves to its realpath', async () => {
    expect(await resolveLogPath(path.join(root, 'app.log'), [root])).toBe(fs.realpathSync(path.join(root, 'app.log')));
  });

  test('a symlinked root works; a symlink inside the root to a file inside it resolves to the target', async () => {
    fs.symlinkSync(root, path.join(tmp, 'log-link'));
    fs.symlinkSync('app.log', path.join(root, 'current.log'));
    const real = fs.realpathSync(path.join(root, 'app.log'));
    expect(await resolveLogPath(path.join(tmp, 'log-link', 'app.log'), [path.join(tmp, 'log-link')])).toBe(real);
    expect(await resolveLogPath(path.join(root, 'current.log'), [root])).toBe(real);
  });

  test.each<[string, (root: string) => string]>([
    ['.. out of the root', (r) => `${r}/../secret/key`],
    ['.. to a sibling whose name starts like the root', (r) => `${r}/../log2/x`],
    ['symlink to a file outside', (r) => (fs.symlinkSync('/etc/passwd', `${r}/passwd.log`), `${r}/passwd.log`)],
    ['symlinked directory leading outside', (r) => (fs.symlinkSync(`${r}/../secret`, `${r}/sub`), `${r}/sub/key`)],
    ['relative path', () => 'log/app.log'],
    ['does not exist', (r) => `${r}/missing.log`],
    ['a directory', (r) => r],
    ['a FIFO', (r) => (execFileSync('mkfifo', [`${r}/pipe`]), `${r}/pipe`)],
    ['a hard link to a file outside', (r) => (fs.linkSync(`${r}/../secret/key`, `${r}/key.log`), `${r}/key.log`)],
    ['trailing slash on a file', (r) => `${r}/app.log/`],
  ])('%s → path_not_allowed on "file"', async (_label, make) => {
    const err = await refusal(make(root));
    expect([err.code, err.param]).toEqual(['path_not_allowed', 'file']);
  });

  test('the message is the same whether or not the path exists (no probing outside the roots)', async () => {
    expect((await refusal('/etc/passwd')).message).toBe((await refusal('/etc/does-not-exist')).message);
  });

  test('a root that does not exist allows nothing and breaks nothing', async () => {
    expect(await resolveLogPath(path.join(root, 'app.log'), ['/nonexistent-root', root])).toBe(fs.realpathSync(path.join(root, 'app.log')));
    expect((await refusal(path.join(root, 'app.log'), ['/nonexistent-root'])).code).toBe('path_not_allowed');
  });
});

describe('followLog', () => {
  /** Collects lines; until(n) resolves once n have arrived (bounded wait). */
  function collector() {
    const lines: string[] = [];
    let waiter: { n: number; resolve: () => void } | null = null;
    return {
      lines,
      onLine(line: string) {
        lines.push(line);
        if (waiter && lines.length >= waiter.n) waiter.resolve();
      },
      until(n: number, ms = 3000): Promise<void> {
        if (lines.length >= n) return Promise.resolve();
        return new Promise((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`only ${lines.length}/${n} lines after ${ms} ms: ${JSON.stringify(lines.map((l) => (l.length > 60 ? `${l.slice(0, 20)}…(${l.length})` : l)))}`)), ms);
          waiter = { n, resolve: () => (clearTimeout(t), resolve()) };
        });
      },
    };
  }

  const running: AbortController[] = [];
  afterEach(() => running.splice(0).forEach((ac) => ac.abort()));

  function start(file: string, fromLines?: number) {
    const c = collector();
    const ac = new AbortController();
    running.push(ac);
    const done = followLog(file, { signal: ac.signal, fromLines, onLine: c.onLine, pollMs: 20 });
    return { c, ac, done };
  }

  /** Starts following a file holding one "ready" line and waits for it, so later writes are known to be new. */
  async function startReady(file: string) {
    fs.writeFileSync(file, 'ready\n');
    const f = start(file, 1);
    await f.c.until(1);
    f.c.lines.length = 0;
    return f;
  }

  test('sends the last fromLines lines, then appended lines; a partial line waits for its newline', async () => {
    const file = path.join(root, 'f.log');
    fs.writeFileSync(file, 'one\ntwo\nthree\nfour\n');
    const { c, ac, done } = start(file, 2);
    await c.until(2);
    expect(c.lines).toEqual(['three', 'four']);
    fs.appendFileSync(file, 'five\nsi');
    await c.until(3);
    fs.appendFileSync(file, 'x\r\n');
    await c.until(4);
    expect(c.lines).toEqual(['three', 'four', 'five', 'six']);
    ac.abort();
    await done;
  });

  test('fromLines counts a final line without a newline, like tail', async () => {
    const file = path.join(root, 'g.log');
    fs.writeFileSync(file, 'one\ntwo\nthr');
    const { c, ac, done } = start(file, 2);
    fs.appendFileSync(file, 'ee\n');
    await c.until(2);
    expect(c.lines).toEqual(['two', 'three']);
    ac.abort();
    await done;
  });

  test('survives truncation in place (copytruncate)', async () => {
    const file = path.join(root, 't.log');
    const { c, ac, done } = await startReady(file);
    fs.appendFileSync(file, 'a long line before truncation\n');
    await c.until(1);
    fs.truncateSync(file, 0);
    fs.appendFileSync(file, 'after\n');
    await c.until(2);
    expect(c.lines).toEqual(['a long line before truncation', 'after']);
    ac.abort();
    await done;
  });

  test('survives rotation by rename: finishes the old file, then follows the new one', async () => {
    const file = path.join(root, 'r.log');
    const { c, ac, done } = await startReady(file);
    fs.appendFileSync(file, 'old 1\n');
    await c.until(1);
    const fd = fs.openSync(file, 'a'); // a writer that keeps its descriptor across the rename
    fs.renameSync(file, `${file}.1`);
    fs.writeSync(fd, 'old 2\n');
    fs.closeSync(fd);
    fs.writeFileSync(file, 'new 1\n');
    await c.until(3);
    expect(c.lines).toEqual(['old 1', 'old 2', 'new 1']);
    fs.appendFileSync(file, 'new 2\n');
    await c.until(4);
    expect(c.lines[3]).toBe('new 2');
    ac.abort();
    await done;
  });

  test('a symlink planted at the path after rotation is refused, not followed', async () => {
    const file = path.join(root, 's.log');
    const { c, done } = await startReady(file);
    fs.renameSync(file, `${file}.1`);
    fs.symlinkSync(path.join(outside, 'key'), file);
    await expect(done).rejects.toThrow(/ELOOP|not a regular file/);
    expect(c.lines).not.toContain('KEY');
  });

  test('a runaway line is delivered in bounded pieces', async () => {
    const file = path.join(root, 'long.log');
    const { c, ac, done } = await startReady(file);
    fs.appendFileSync(file, 'x'.repeat(MAX_LINE_BYTES * 2 + 10) + '\nend\n');
    await c.until(4);
    expect(c.lines.map((l) => l.length)).toEqual([MAX_LINE_BYTES, MAX_LINE_BYTES, 10, 3]);
    ac.abort();
    await done;
  });

  test('stops on abort: the promise resolves and later lines are not delivered', async () => {
    const file = path.join(root, 'a.log');
    fs.writeFileSync(file, 'x\n');
    const { c, ac, done } = start(file, 1);
    await c.until(1);
    ac.abort();
    await done;
    fs.appendFileSync(file, 'late\n');
    // Give a (wrongly) still-running poller several intervals to misbehave.
    await new Promise((r) => setTimeout(r, 100));
    expect(c.lines).toEqual(['x']);
  });

  test('an already-aborted signal returns at once; a missing file rejects', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(followLog(path.join(root, 'app.log'), { signal: ac.signal, onLine: () => {} })).resolves.toBeUndefined();
    await expect(followLog(path.join(root, 'nope.log'), { signal: new AbortController().signal, onLine: () => {} })).rejects.toThrow(/ENOENT/);
  });
});
