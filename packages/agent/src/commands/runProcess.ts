import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { liveGroupMembers } from './processGroup';
import { wholeUtf8Prefix } from './wholeUtf8Prefix';

export interface RunOptions {
  timeoutMs: number;
  /** Per stream (stdout and stderr each). Default 1 MiB. */
  maxOutputBytes?: number;
  /** Requires gid too: setuid alone would leave the child in group root. */
  uid?: number;
  gid?: number;
  cwd?: string;
  /** Added to the minimal environment; the agent's own environment is never passed on. */
  env?: Record<string, string>;
  /** Between SIGTERM and SIGKILL after a timeout. Default 2000 ms. */
  killGraceMs?: number;
}

export interface RunResult {
  status: 'completed' | 'failed' | 'timed_out';
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** True when either stream produced more than maxOutputBytes. */
  truncated: boolean;
  durationMs: number;
  /** Also the process group id; null when the program could not be started. */
  pid: number | null;
}

export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
export const DEFAULT_KILL_GRACE_MS = 2000;
/**
 * System directories first, then /usr/local: static Docker installs put
 * `docker` in /usr/local/bin (Debian's own root PATH includes it), and with
 * it last a binary dropped there can never shadow a system one.
 */
export const DEFAULT_PATH = '/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/sbin:/usr/local/bin';
export const MINIMAL_ENV: Readonly<Record<string, string>> = Object.freeze({ PATH: DEFAULT_PATH, LANG: 'C.UTF-8' });

/**
 * How long to keep reading after the program exits when something it started
 * in the background still holds the pipes (an init script that forks a daemon
 * without closing stdout). Without a bound the request would hang for the
 * daemon's whole life.
 */
const DRAIN_AFTER_EXIT_MS = 500;
const GROUP_POLL_MS = 25;

/** Keeps the first `cap` bytes of a stream and says once when more arrived. */
class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(
    private readonly cap: number,
    private readonly onOverflow: () => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.truncated) return;
    const room = this.cap - this.size;
    if (chunk.length <= room) {
      this.chunks.push(chunk);
      this.size += chunk.length;
      return;
    }
    this.truncated = true;
    // Copy so the kept slice does not pin the whole 64 KiB read buffer.
    if (room > 0) this.chunks.push(Buffer.from(chunk.subarray(0, room)));
    this.size = this.cap;
    this.onOverflow();
  }

  text(): string {
    const buf = Buffer.concat(this.chunks, this.size);
    return (this.truncated ? wholeUtf8Prefix(buf) : buf).toString('utf8');
  }
}

function checkArgv(argv: readonly string[]): void {
  if (!Array.isArray(argv) || argv.length === 0) throw new TypeError('argv must be a non-empty array');
  for (const [i, a] of argv.entries()) {
    if (typeof a !== 'string') throw new TypeError(`argv[${i}] must be a string`);
    if (a.includes('\0')) throw new TypeError(`argv[${i}] must not contain NUL`);
  }
  if (argv[0] === '') throw new TypeError('argv[0] must not be empty');
}

/**
 * Past the cap we keep the program's pipe drained rather than kill it:
 * commands here change state (systemctl restart, a backup), and killing one
 * because it was chatty would leave the change half done; the timeout still
 * bounds it. Draining in-process cost ~40 MiB of RSS that never came back
 * (measured: 200 MiB through a 1 MiB cap; glibc keeps the memory freed by the
 * churn of 64 KiB read buffers, even after gc()). So the pipe is handed to
 * `cat` writing to /dev/null: the kernel drains it and the agent allocates
 * nothing more. If `cat` cannot be started we go on reading and discarding.
 */
function handOffToDrainer(stream: Readable): ChildProcess[] {
  let drainer: ChildProcess;
  try {
    drainer = spawn('cat', [], { stdio: [stream, 'ignore', 'ignore'], env: { ...MINIMAL_ENV } });
  } catch {
    return [];
  }
  drainer.on('error', () => {});
  if (drainer.pid === undefined) return [];
  drainer.unref();
  stream.destroy(); // closes our copy of the pipe; cat holds its own
  return [drainer];
}

function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: the whole group is gone
  }
}

/** True while any process (zombies included) is still in the group. */
function groupExists(pgid: number): boolean {
  return killGroup(pgid, 0 as unknown as NodeJS.Signals);
}

/**
 * Runs argv directly (never through a shell) in its own process group and
 * session, with a minimal environment, no stdin, capped output and a timeout
 * that takes down everything the program started unless it left the group.
 * Resolves for every outcome a program can cause; rejects only when called
 * with invalid arguments.
 */
export function runProcess(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
  try {
    checkArgv(argv);
    if (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs <= 0) throw new TypeError('timeoutMs must be positive');
    if ((opts.uid === undefined) !== (opts.gid === undefined)) throw new TypeError('uid and gid must be given together');
  } catch (err) {
    return Promise.reject(err);
  }
  const cap = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const grace = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const started = performance.now();

  return new Promise<RunResult>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        shell: false,
        // setsid(): own session and process group, so process.kill(-pid)
        // reaches the program's children and grandchildren.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        cwd: opts.cwd,
        env: { ...MINIMAL_ENV, ...opts.env },
        uid: opts.uid,
        gid: opts.gid,
        windowsHide: true,
      });
    } catch (err) {
      reject(err); // invalid options (bad env value type, …): a programming error
      return;
    }

    const pgid = child.pid ?? null;
    const drainers: ChildProcess[] = [];
    const stdout = new CappedOutput(cap, () => drainers.push(...handOffToDrainer(child.stdout!)));
    const stderr = new CappedOutput(cap, () => drainers.push(...handOffToDrainer(child.stderr!)));
    let settled = false;
    let timedOut = false;
    let groupGone = false;
    let spawnError: (Error & { code?: string }) | null = null;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    const timers = new Set<NodeJS.Timeout>();
    const after = (ms: number, fn: () => void) => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    };

    const finish = () => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      // After a timeout, whatever is still in the group gets no more grace.
      if (timedOut && !groupGone && pgid !== null) killGroup(pgid, 'SIGKILL');
      child.stdout?.destroy();
      child.stderr?.destroy();
      for (const d of drainers) if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
      let err = stderr.text();
      if (spawnError) {
        err = `could not start ${JSON.stringify(argv[0])}: ${spawnError.code ?? 'error'} (${spawnError.message})`;
      }
      resolve({
        status: timedOut ? 'timed_out' : spawnError || exit?.code !== 0 ? 'failed' : 'completed',
        exitCode: spawnError ? null : (exit?.code ?? null),
        signal: exit?.signal ?? null,
        stdout: stdout.text(),
        stderr: err,
        truncated: stdout.truncated || stderr.truncated,
        durationMs: Math.round(performance.now() - started),
        pid: pgid,
      });
    };

    child.stdout!.on('data', (c: Buffer) => stdout.push(c));
    child.stderr!.on('data', (c: Buffer) => stderr.push(c));
    child.stdout!.on('error', () => {});
    child.stderr!.on('error', () => {});

    child.on('error', (err) => {
      // Only spawn failures reach here: signals go through process.kill, not child.kill.
      spawnError = err;
      if (pgid === null) finish();
    });

    child.on('exit', (code, signal) => {
      exit = { code, signal };
      if (!timedOut) after(DRAIN_AFTER_EXIT_MS, finish);
    });

    // After a timeout, 'close' (every holder of the pipes gone) is not the end:
    // a member may have closed its stdio and ignored SIGTERM. Poll the group
    // so one that died on SIGTERM is reported at once rather than after the
    // grace; members that are only zombies count as gone (see liveGroupMembers).
    let polling = false;
    const finishWhenGroupGone = async () => {
      if (settled || polling) return;
      polling = true;
      try {
        if (!groupExists(pgid!) || (await liveGroupMembers(pgid!)).length === 0) {
          groupGone = true;
          finish();
        }
      } catch {
        /* /proc unreadable: the grace timer still ends it */
      } finally {
        polling = false;
      }
      if (!settled) after(GROUP_POLL_MS, () => void finishWhenGroupGone());
    };

    child.on('close', () => {
      if (!timedOut) finish();
      else void finishWhenGroupGone();
    });

    if (pgid === null) return; // spawn failed; 'error' follows
    after(opts.timeoutMs, () => {
      if (exit) return; // already exited; only the post-exit drain is running
      timedOut = true;
      killGroup(pgid, 'SIGTERM');
      after(grace, () => {
        killGroup(pgid, 'SIGKILL');
        // Bounded either way: processes that left the group (setsid) may hold
        // the pipes, and where nothing reaps orphans the zombies never leave.
        after(DRAIN_AFTER_EXIT_MS, finish);
      });
    });
  });
}
