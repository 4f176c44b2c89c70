import fs from 'node:fs/promises';
import { GENESIS, type ChainPoint } from './auditEntry';
import { listAuditFiles } from './auditFiles';
import { checkAuditFile } from './checkAuditFile';

export type VerifyResult =
  | {
      ok: true;
      entries: number;
      /** File names, oldest first. */
      files: string[];
      /** The newest chain point (seq 0 when there are no files): keep it off the host to detect a rewrite of the whole chain. */
      last: ChainPoint;
    }
  | { ok: false; entries: number; brokenAt: { file: string; line: number; seq: number | null }; reason: string };

/**
 * Checks every audit file in `dir`, oldest first, and names the first broken line. The
 * oldest file's header anchor is accepted as is, because older files may have been
 * deleted by rotation. Run it on a live directory and a write in flight may show up
 * as a torn last line. Rejects when `dir` cannot be read.
 */
export async function verifyAuditDir(dir: string): Promise<VerifyResult> {
  const files = await listAuditFiles(dir);
  let prev: ChainPoint | null = null;
  let entries = 0;
  for (const f of files) {
    const check = checkAuditFile(await fs.readFile(f.path, 'utf8'), prev, f.firstSeq);
    entries += check.entries;
    if (!check.ok) return { ok: false, entries, brokenAt: { file: f.name, line: check.line, seq: check.seq }, reason: check.reason };
    prev = check.last;
  }
  return { ok: true, entries, files: files.map((f) => f.name), last: prev ?? GENESIS };
}
