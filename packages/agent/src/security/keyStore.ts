import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { z } from 'zod';
import { ROLES, type Role } from './roles';

export interface KeyEntry {
  readonly id: string;
  readonly role: Role;
  /** SHA-256 of the key: the file never holds a key itself. */
  readonly hash: Buffer;
}

const KeyFile = z
  .object({
    keys: z.array(
      z
        .object({
          id: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ : -'),
          role: z.enum(ROLES),
          hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" followed by 64 hex digits'),
        })
        .strict(),
    ),
  })
  .strict();

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** A new API key: 256 random bits, prefixed so it is recognisable in a secret scanner. */
export function generateKey(): string {
  return `vwk_${randomBytes(32).toString('base64url')}`;
}

export function hashKey(key: string): string {
  return `sha256:${sha256(key).toString('hex')}`;
}

/** Parses a key file; the error names the entry and field at fault. */
export function parseKeyFile(text: string): KeyEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`not valid JSON: ${(err as Error).message}`);
  }
  const r = KeyFile.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const ids = new Set<string>();
  return r.data.keys.map((k, i) => {
    if (ids.has(k.id)) throw new Error(`keys.${i}.id: "${k.id}" is used twice`);
    ids.add(k.id);
    return { id: k.id, role: k.role, hash: Buffer.from(k.hash.slice('sha256:'.length), 'hex') };
  });
}

export function readKeyFile(path: string): KeyEntry[] {
  return parseKeyFile(fs.readFileSync(path, 'utf8'));
}

/**
 * Holds the current keys and checks a presented one. The presented key is
 * hashed first, so every comparison is between two 32-byte digests whatever
 * its length, and every entry is compared (no early exit), so an unknown key,
 * a wrong key and a right one cost the same.
 */
export class KeyStore {
  private entries: readonly KeyEntry[];

  constructor(entries: readonly KeyEntry[]) {
    this.entries = entries;
  }

  get size(): number {
    return this.entries.length;
  }

  replace(entries: readonly KeyEntry[]): void {
    this.entries = entries;
  }

  authenticate(presented: string): KeyEntry | null {
    const digest = sha256(presented);
    let found: KeyEntry | null = null;
    for (const entry of this.entries) {
      const equal = timingSafeEqual(digest, entry.hash);
      if (equal && found === null) found = entry;
    }
    return found;
  }
}

/**
 * Re-reads the key file when it changes (polling its mtime, which survives
 * editors and `mv` replacing the file) and on demand (SIGHUP). A file that no
 * longer parses leaves the previous keys in force.
 */
export function watchKeyFile(
  path: string,
  store: KeyStore,
  log: { info(o: object, m: string): void; error(o: object, m: string): void },
  intervalMs = 1000,
): { reload(): boolean; stop(): void } {
  const reload = (): boolean => {
    try {
      const entries = readKeyFile(path);
      store.replace(entries);
      log.info({ keys: entries.map((e) => `${e.id}(${e.role})`) }, 'key file loaded');
      return true;
    } catch (err) {
      log.error({ err, path }, 'key file not reloaded: keeping the previous keys');
      return false;
    }
  };
  const listener = (curr: fs.Stats, prev: fs.Stats) => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.size !== prev.size || curr.ino !== prev.ino) reload();
  };
  fs.watchFile(path, { interval: intervalMs, persistent: false }, listener);
  // watchFile compares against its own first stat, taken later on the thread
  // pool: a change made between the caller's first read and that stat would
  // never be seen. One re-read after the first poll closes that gap.
  const settle = setTimeout(reload, intervalMs * 2);
  settle.unref();
  return {
    reload,
    stop: () => {
      clearTimeout(settle);
      fs.unwatchFile(path, listener);
    },
  };
}
