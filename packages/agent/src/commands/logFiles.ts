import { constants as fsConstants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolvePathUnderRoots } from './resolvePathUnderRoots';
import { wholeUtf8Prefix } from './wholeUtf8Prefix';

/**
 * The realpath of a log file under one of `roots`; throws
 * CommandRejected('path_not_allowed', param 'file') otherwise.
 */
export function resolveLogPath(file: string, roots: readonly string[]): Promise<string> {
  return resolvePathUnderRoots(file, roots, 'file');
}

export interface FollowOptions {
  signal: AbortSignal;
  /** Lines of existing content to send first, like `tail -n N -f`. Default 10, at most 5000. */
  fromLines?: number;
  onLine(line: string): void;
  /** How often to look for new data, truncation and rotation. Default 250 ms. */
  pollMs?: number;
}

export const DEFAULT_FOLLOW_POLL_MS = 250;
export const MAX_FOLLOW_FROM_LINES = 5000;
/** A longer line is delivered in pieces, so one runaway line cannot grow the buffer. */
export const MAX_LINE_BYTES = 64 * 1024;
/** Read at most this much per step, then yield, so a log growing faster than we read stays bounded in memory. */
const MAX_READ_BYTES = 1024 * 1024;
/** How far back to look for the first `fromLines` lines. */
const MAX_BACKSCAN_BYTES = 8 * 1024 * 1024;
const CHUNK = 64 * 1024;

/**
 * O_NOFOLLOW on top of the caller's realpath check: if a symlink is planted
 * at the path after rotation we refuse it instead of following it as root.
 * O_NONBLOCK so a FIFO cannot hang the open; it is refused as not a regular file.
 */
async function openLog(file: string): Promise<{ handle: FileHandle; dev: number; ino: number; size: number }> {
  const handle = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  const st = await handle.stat();
  if (!st.isFile()) {
    await handle.close();
    throw new Error(`${file} is not a regular file`);
  }
  return { handle, dev: st.dev, ino: st.ino, size: st.size };
}

/** Offset where the last `n` lines start (a final line without '\n' counts, as in tail). */
async function startOfLastLines(handle: FileHandle, size: number, n: number): Promise<number> {
  if (n <= 0 || size === 0) return size;
  const floor = Math.max(0, size - MAX_BACKSCAN_BYTES);
  const buf = Buffer.alloc(CHUNK);
  let newlines = 0;
  let end = size;
  let skipFinal = true; // a '\n' ending the file closes the last line; it does not start a new one
  while (end > floor) {
    const start = Math.max(floor, end - CHUNK);
    const { bytesRead } = await handle.read(buf, 0, end - start, start);
    for (let i = bytesRead - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) {
        skipFinal = false;
        continue;
      }
      if (skipFinal) {
        skipFinal = false;
        continue;
      }
      if (++newlines === n) return start + i + 1;
    }
    end = start;
  }
  return floor;
}

/**
 * `tail -F` for Server-Sent Events: sends the last `fromLines` lines, then
 * each complete line appended. Survives copytruncate (size drops below our
 * offset → start again from 0) and rename-and-recreate rotation (the path
 * names a new inode → finish the old file, then switch). Resolves when
 * `signal` aborts; rejects if the file cannot be opened or onLine throws.
 *
 * Polls with one timer per follower rather than fs.watch: inotify misses
 * events across rotation and on some network and overlay file systems, and a
 * poll bounds the work per follower whatever the log does. A partial last
 * line is held until its newline arrives.
 */
export async function followLog(file: string, opts: FollowOptions): Promise<void> {
  const { signal, onLine } = opts;
  const pollMs = opts.pollMs ?? DEFAULT_FOLLOW_POLL_MS;
  const fromLines = Math.min(Math.max(0, Math.trunc(opts.fromLines ?? 10)), MAX_FOLLOW_FROM_LINES);
  if (signal.aborted) return;

  let cur = await openLog(file);
  let offset = await startOfLastLines(cur.handle, cur.size, fromLines);
  let pending = Buffer.alloc(0);
  const readBuf = Buffer.alloc(CHUNK);

  const emit = (bytes: Buffer) => {
    // Pieces of at most MAX_LINE_BYTES, cut between characters.
    while (!signal.aborted) {
      const piece = bytes.length > MAX_LINE_BYTES ? wholeUtf8Prefix(bytes.subarray(0, MAX_LINE_BYTES)) : bytes;
      const line = piece.toString('utf8');
      onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
      if (piece.length === bytes.length) return;
      bytes = bytes.subarray(piece.length);
    }
  };

  const consume = (chunk: Buffer) => {
    const buf = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(0x0a, start); nl !== -1; nl = buf.indexOf(0x0a, start)) {
      emit(buf.subarray(start, nl));
      start = nl + 1;
    }
    let rest = buf.subarray(start);
    // An unterminated line may not grow without bound while we wait for its newline.
    if (rest.length > MAX_LINE_BYTES) {
      const whole = wholeUtf8Prefix(rest.subarray(0, rest.length - (rest.length % MAX_LINE_BYTES)));
      emit(whole);
      rest = rest.subarray(whole.length);
    }
    pending = Buffer.from(rest); // copy: do not pin the read buffer
  };

  /** Reads what is new; true when it read anything. */
  const readNew = async (): Promise<boolean> => {
    const { size } = await cur.handle.stat();
    if (size < offset) {
      offset = 0; // truncated in place (copytruncate): its old partial line is gone too
      pending = Buffer.alloc(0);
    }
    let budget = MAX_READ_BYTES;
    let any = false;
    while (offset < size && budget > 0 && !signal.aborted) {
      const want = Math.min(CHUNK, size - offset, budget);
      const { bytesRead } = await cur.handle.read(readBuf, 0, want, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
      budget -= bytesRead;
      any = true;
      consume(readBuf.subarray(0, bytesRead));
    }
    return any;
  };

  /** When the path now names another file, switch to it (the old one is fully read by now). */
  const checkRotation = async (): Promise<void> => {
    let st;
    try {
      st = await fs.lstat(file);
    } catch {
      return; // moved away and not yet recreated: keep the old file until it is
    }
    if (st.ino === cur.ino && st.dev === cur.dev) return;
    const next = await openLog(file);
    await cur.handle.close();
    if (pending.length > 0) emit(pending); // the old file's unterminated last line
    pending = Buffer.alloc(0);
    cur = next;
    offset = 0;
  };

  try {
    while (!signal.aborted) {
      if (await readNew()) continue;
      await checkRotation();
      if (signal.aborted) break;
      if (offset < (await cur.handle.stat()).size) continue; // a new file with content, or more arrived
      await sleep(pollMs, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    await cur.handle.close().catch(() => undefined);
  }
}
