import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatEntryLine, hashEntry } from '../src/audit/auditEntry';
import { openAuditLog, type AuditEntry } from '../src/audit/auditLog';
import { verifyAuditDir } from '../src/audit/verifyAudit';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'viworks-audit-verify-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

async function writeLog(n: number, maxFileBytes?: number) {
  const log = await openAuditLog({ dir, maxFileBytes });
  for (let i = 1; i <= n; i++) {
    await log.append({ actor: `key-${i % 3}`, ip: '10.0.0.7', action: 'service.restart', result: 'completed', target: `svc-${i}`, argv: ['systemctl', 'restart', `svc-${i}`], exitCode: 0 });
  }
  await log.close();
}

const readLines = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8').split('\n').slice(0, -1);
const asText = (lines: string[]) => lines.map((l) => l + '\n').join('');
const writeLines = (file: string, lines: string[]) => fs.writeFileSync(path.join(dir, file), asText(lines));
const entryAt = (lines: string[], seq: number) => JSON.parse(lines[seq]!) as AuditEntry; // line index = seq in a single file
const rehashed = (e: Omit<AuditEntry, 'hash'>) => formatEntryLine({ ...e, hash: hashEntry(e) });

test('an untouched log verifies', async () => {
  await writeLog(10);
  expect(await verifyAuditDir(dir)).toMatchObject({ ok: true, entries: 10, files: ['audit.log'], last: { seq: 10 } });
});

test('an empty directory verifies with no entries', async () => {
  expect(await verifyAuditDir(dir)).toEqual({ ok: true, entries: 0, files: [], last: { seq: 0, hash: '0'.repeat(64) } });
});

// One file of 10 entries: the header is line 1, seq k is on line k + 1.
test.each<[string, (lines: string[]) => string[] | string, { line: number; seq: number | null }, RegExp]>([
  ['a field edited', (l) => l.map((x, i) => (i === 5 ? x.replace('"actor":"key-2"', '"actor":"key-0"') : x)), { line: 6, seq: 5 }, /hash does not match the content/],
  ['a field edited and the hash recomputed', (l) => l.map((x, i) => (i === 5 ? rehashed({ ...entryAt(l, 5), target: 'other' }) : x)), { line: 7, seq: 6 }, /prevHash does not match the hash of seq 5/],
  ['an entry deleted', (l) => l.filter((_, i) => i !== 5), { line: 6, seq: 6 }, /seq 6 where 5 was expected/],
  ['the first entry deleted', (l) => l.filter((_, i) => i !== 1), { line: 2, seq: 2 }, /seq 2 where 1 was expected/],
  ['two entries swapped', (l) => [...l.slice(0, 5), l[6]!, l[5]!, ...l.slice(7)], { line: 6, seq: 6 }, /seq 6 where 5 was expected/],
  ['a forged entry inserted', (l) => [...l.slice(0, 5), l[5]!.replace('"exitCode":0', '"exitCode":1'), ...l.slice(5)], { line: 6, seq: 5 }, /hash does not match/],
  [
    // Without a secret a well-made forgery is indistinguishable on its own; the break shows at the next entry.
    'a forged entry inserted with a valid seq, prevHash and hash',
    (l) => [...l.slice(0, 5), rehashed({ ...entryAt(l, 5), argv: ['rm', '-rf', '/'] }), ...l.slice(5)],
    { line: 7, seq: 5 },
    /seq 5 where 6 was expected/,
  ],
  ['the file truncated mid-line', (l) => asText(l.slice(0, 7)) + l[7]!.slice(0, 40), { line: 8, seq: 7 }, /incomplete last line/],
  ['a duplicate key shadowing a hashed value', (l) => l.map((x, i) => (i === 3 ? x.replace('{"seq":3,', '{"seq":3,"actor":"root",') : x)), { line: 4, seq: 3 }, /not in canonical form/],
  ['a blank line inserted', (l) => [...l.slice(0, 4), '', ...l.slice(4)], { line: 5, seq: null }, /not valid JSON/],
  ['the header altered', (l) => [l[0]!.replace('"prevSeq":0', '"prevSeq":3'), ...l.slice(1)], { line: 1, seq: null }, /header/],
])('%s is reported at that entry', async (_name, tamper, at, reason) => {
  await writeLog(10);
  const tampered = tamper(readLines('audit.log'));
  fs.writeFileSync(path.join(dir, 'audit.log'), typeof tampered === 'string' ? tampered : asText(tampered));

  const result = await verifyAuditDir(dir);
  expect(result).toMatchObject({ ok: false, brokenAt: { file: 'audit.log', ...at } });
  if (!result.ok) expect(result.reason).toMatch(reason);
});

describe('across rotated files', () => {
  let rotated: string[];
  beforeEach(async () => {
    await writeLog(20, 1500);
    rotated = fs.readdirSync(dir).filter((n) => n !== 'audit.log').sort();
    expect(rotated.length).toBeGreaterThanOrEqual(3);
  });
  const firstSeqOf = (name: string) => Number(name.slice('audit.log.'.length));

  test('deleting the oldest files (as pruning does) still verifies', async () => {
    fs.rmSync(path.join(dir, rotated[0]!));
    fs.rmSync(path.join(dir, rotated[1]!));
    expect(await verifyAuditDir(dir)).toMatchObject({ ok: true, entries: 20 - firstSeqOf(rotated[2]!) + 1, last: { seq: 20 } });
  });

  test('a file deleted from the middle breaks the next file at its header', async () => {
    fs.rmSync(path.join(dir, rotated[1]!));
    const result = await verifyAuditDir(dir);
    expect(result).toMatchObject({ ok: false, brokenAt: { file: rotated[2], line: 1, seq: null } });
    if (!result.ok) expect(result.reason).toMatch(`header continues from seq ${firstSeqOf(rotated[2]!) - 1} but the previous file ends at seq ${firstSeqOf(rotated[1]!) - 1}`);
  });

  test('two files swapped by renaming are reported at the first misplaced file', async () => {
    const [a, b] = [path.join(dir, rotated[1]!), path.join(dir, rotated[2]!)];
    fs.renameSync(a, `${a}.x`);
    fs.renameSync(b, a);
    fs.renameSync(`${a}.x`, b);
    expect(await verifyAuditDir(dir)).toMatchObject({ ok: false, brokenAt: { file: rotated[1], line: 1, seq: null } });
  });

  test('a rotated file truncated mid-line is reported at that line, not later', async () => {
    const lines = readLines(rotated[1]!);
    fs.writeFileSync(path.join(dir, rotated[1]!), lines.slice(0, 2).join('\n') + '\n' + lines[2]!.slice(0, 30));
    expect(await verifyAuditDir(dir)).toMatchObject({ ok: false, brokenAt: { file: rotated[1], line: 3, seq: firstSeqOf(rotated[1]!) + 1 } });
  });

  test('an entry edited in a rotated file is reported in that file', async () => {
    const lines = readLines(rotated[0]!);
    lines[2] = lines[2]!.replace('"result":"completed"', '"result":"failed"');
    writeLines(rotated[0]!, lines);
    expect(await verifyAuditDir(dir)).toMatchObject({ ok: false, entries: 1, brokenAt: { file: rotated[0], line: 3, seq: 2 } });
  });
});
