import { entryProblem, formatEntryLine, hashEntry, type ChainPoint } from './auditEntry';
import { parseHeaderLine } from './auditFiles';
import type { AuditEntry } from './auditLog';

export type FileCheck =
  | { ok: true; entries: number; anchor: ChainPoint; last: ChainPoint }
  | { ok: false; entries: number; line: number; seq: number | null; reason: string };

/**
 * Checks the text of one audit file: a header, then entries each chained to the one
 * before. `prev` is where the previous file ended; null (the oldest file on disk)
 * accepts the header's anchor. `firstSeq` is the seq the file's name promises, if any.
 * Stops at the first broken line. Lines are numbered from 1, the header being line 1.
 */
export function checkAuditFile(text: string, prev: ChainPoint | null, firstSeq: number | null = null): FileCheck {
  const lines = text.split('\n');
  const torn = lines.pop()!; // '' when the text ends with a newline, as a complete file does
  let entries = 0;
  const fail = (line: number, seq: number | null, reason: string): FileCheck => ({ ok: false, entries, line, seq, reason });

  if (lines.length === 0) return fail(1, null, torn ? 'incomplete header line' : 'empty file: no header line');
  const header = parseHeaderLine(lines[0]!);
  if (!header.ok) return fail(1, null, header.reason);
  const anchor = header.prev;
  if (prev && (anchor.seq !== prev.seq || anchor.hash !== prev.hash)) {
    return fail(1, null, `header continues from seq ${anchor.seq} but the previous file ends at seq ${prev.seq}${anchor.seq === prev.seq ? ' with another hash' : ''}: a file is missing, out of order or altered`);
  }
  if (firstSeq !== null && firstSeq !== anchor.seq + 1) {
    return fail(1, null, `file name promises seq ${firstSeq} first but the header continues from seq ${anchor.seq}`);
  }

  let cur = anchor;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const lineNo = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return fail(lineNo, seqIn(line), 'not valid JSON');
    }
    const problem = entryProblem(value);
    if (problem) return fail(lineNo, seqIn(line), problem);
    const e = value as AuditEntry;
    if (e.seq !== cur.seq + 1) {
      return fail(lineNo, e.seq, `seq ${e.seq} where ${cur.seq + 1} was expected: an entry is missing, out of order or inserted`);
    }
    if (e.prevHash !== cur.hash) return fail(lineNo, e.seq, `prevHash does not match the hash of seq ${cur.seq}`);
    if (hashEntry(e) !== e.hash) return fail(lineNo, e.seq, 'hash does not match the content: the entry was altered');
    // Duplicate keys or extra whitespace would let a reader see other values than the hash covers.
    if (formatEntryLine(e) !== line) return fail(lineNo, e.seq, 'entry is not in canonical form');
    cur = { seq: e.seq, hash: e.hash };
    entries++;
  }
  if (torn) return fail(lines.length + 1, seqIn(torn), 'incomplete last line (torn write or truncated file)');
  return { ok: true, entries, anchor, last: cur };
}

/** Best effort for lines that do not parse: entries start with their seq. */
function seqIn(line: string): number | null {
  const m = /^\{"seq":(\d+)[,}]/.exec(line);
  return m ? Number(m[1]) : null;
}
