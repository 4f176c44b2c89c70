import fs from 'node:fs/promises';
import path from 'node:path';
import { GENESIS_HASH, type ChainPoint } from './auditEntry';

/** The file being appended to. */
export const ACTIVE_FILE = 'audit.log';

/**
 * A rotated file is named after the seq of its first entry, zero-padded so that `ls`
 * lists them oldest first. Rotating is then one atomic rename, with no cascade of
 * .1 → .2 → … renames that a crash could leave half done.
 */
export function rotatedFileName(firstSeq: number): string {
  return `${ACTIVE_FILE}.${String(firstSeq).padStart(12, '0')}`;
}

export interface AuditFile {
  readonly name: string;
  readonly path: string;
  /** The seq its name promises for its first entry; null for the active file. */
  readonly firstSeq: number | null;
}

/** The audit files in `dir`, oldest first, the active file (if any) last. Other files are ignored. */
export async function listAuditFiles(dir: string): Promise<AuditFile[]> {
  const rotated: AuditFile[] = [];
  let active: AuditFile | null = null;
  for (const name of await fs.readdir(dir)) {
    if (name === ACTIVE_FILE) active = { name, path: path.join(dir, name), firstSeq: null };
    const m = /^audit\.log\.(\d+)$/.exec(name);
    if (m) rotated.push({ name, path: path.join(dir, name), firstSeq: Number(m[1]) });
  }
  rotated.sort((a, b) => a.firstSeq! - b.firstSeq!);
  return active ? [...rotated, active] : rotated;
}

const HEADER_KIND = 'viworks-audit-header';

/**
 * Line 1 of every file: the chain point the file continues from (the last seq and hash
 * of the file before it, or seq 0 and 64 zeros for the first file ever). It is what lets
 * the oldest file be deleted: the verifier accepts the anchor of the oldest file on disk,
 * and checks every later file's anchor against the end of the file before it.
 */
export function formatHeaderLine(prev: ChainPoint): string {
  return JSON.stringify({ kind: HEADER_KIND, v: 1, prevSeq: prev.seq, prevHash: prev.hash });
}

export function parseHeaderLine(line: string): { ok: true; prev: ChainPoint } | { ok: false; reason: string } {
  let h: { prevSeq?: unknown; prevHash?: unknown };
  try {
    h = JSON.parse(line);
  } catch {
    return { ok: false, reason: 'header line is not valid JSON' };
  }
  const { prevSeq, prevHash } = h ?? {};
  if (!Number.isSafeInteger(prevSeq) || (prevSeq as number) < 0 || typeof prevHash !== 'string' || !/^[0-9a-f]{64}$/.test(prevHash)) {
    return { ok: false, reason: 'not a header line' };
  }
  const prev = { seq: prevSeq as number, hash: prevHash };
  if (formatHeaderLine(prev) !== line) return { ok: false, reason: 'header line is not in canonical form' };
  if ((prev.seq === 0) !== (prev.hash === GENESIS_HASH)) return { ok: false, reason: 'header: the 64-zero hash goes with seq 0 and only with it' };
  return { ok: true, prev };
}
