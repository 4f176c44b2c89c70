import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CommandRejected } from './commandRejected';

/** True when `candidate` is `root` or below it. Both must already be canonical (realpath'ed). */
export function isInsideRoot(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

async function canonicalRoots(roots: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const root of roots) {
    // A root that does not exist (yet) allows nothing; it is not an error, so
    // one missing directory in the config does not break the others.
    if (!path.isAbsolute(root)) continue;
    try {
      out.push(await fs.realpath(root));
    } catch {
      /* skipped */
    }
  }
  return out;
}

/**
 * Canonicalises `file` and returns its realpath when it is an existing
 * regular file under one of `roots` (the roots are realpath'ed too, so a
 * symlinked /var/log works). Every failure gives the same code and message,
 * so callers cannot probe which paths exist outside the roots.
 *
 * What this cannot stop: a user who can already write inside a root racing a
 * directory swap between this check and the program opening the path. Keep
 * log roots owned by root; followLog reopens with O_NOFOLLOW as a second check.
 */
export async function resolvePathUnderRoots(file: string, roots: readonly string[], param = 'file'): Promise<string> {
  const refused = (cause?: unknown) =>
    new CommandRejected('path_not_allowed', `param "${param}": not a regular file under an allowed root`, { param, cause });
  if (typeof file !== 'string' || !path.isAbsolute(file) || file.includes('\0')) throw refused();
  let real: string;
  try {
    real = await fs.realpath(file);
  } catch (err) {
    throw refused(err);
  }
  const allowed = await canonicalRoots(roots);
  if (!allowed.some((root) => isInsideRoot(root, real))) throw refused();
  const st = await fs.stat(real).catch((err: unknown) => {
    throw refused(err);
  });
  // A second hard link to /etc/shadow inside a root would pass the realpath
  // check; fs.protected_hardlinks usually prevents creating one, but it is a
  // sysctl, and log files have no reason to carry extra links.
  if (!st.isFile() || st.nlink > 1) throw refused();
  return real;
}
