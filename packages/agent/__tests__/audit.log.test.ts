import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openAuditLog, type AuditEntryInput, type AuditLog } from '../src/audit/auditLog';
import { verifyAuditDir } from '../src/audit/verifyAudit';

let dir: string;
let log: AuditLog | null = null;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'viworks-audit-'));
});

afterEach(async () => {
  await log?.close();
  log = null;
  fs.rmSync(dir, { recursive: true, force: true });
});

const input = (i: number, extra: Partial<AuditEntryInput> = {}): AuditEntryInput => ({
  actor: 'ops-key',
  ip: '10.0.0.7',
  action: 'command',
  result: 'completed',
  target: 'restart-nginx',
  argv: ['systemctl', 'restart', `nginx-${i}`],
  exitCode: 0,
  durationMs: 12,
  ...extra,
});

const fixedClock = () => new Date('2026-03-01T12:00:00.000Z');
const lines = (file = 'audit.log') => fs.readFileSync(path.join(dir, file), 'utf8').split('\n').slice(0, -1);

const rotatedFiles = () => fs.readdirSync(dir).filter((n) => n !== 'audit.log').sort();
const firstSeqOf = (name: string) => Number(name.slice('audit.log.'.length));

async function appendMany(l: AuditLog, n: number) {
  for (let i = 1; i <= n; i++) await l.append(input(i));
}

test('the first entry: seq 1, 64-zero prevHash, SHA-256 over the sorted-key JSON without hash', async () => {
  log = await openAuditLog({ dir, now: fixedClock });
  const e = await log.append({ actor: 'anonymous', ip: '192.0.2.1', action: 'auth', result: 'denied', detail: 'bad key' });

  expect(e).toMatchObject({ seq: 1, ts: '2026-03-01T12:00:00.000Z', prevHash: '0'.repeat(64), target: null, argv: null, exitCode: null });
  // An independent computation pins the format for other verifiers.
  const { hash, ...rest } = e;
  const sorted = Object.fromEntries(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)));
  expect(hash).toBe(createHash('sha256').update(JSON.stringify(sorted)).digest('hex'));

  const [header, line] = lines();
  expect(JSON.parse(header!)).toEqual({ kind: 'viworks-audit-header', v: 1, prevSeq: 0, prevHash: '0'.repeat(64) });
  expect(JSON.parse(line!)).toEqual(e);
  expect(Object.keys(JSON.parse(line!))).toHaveLength(14);
  expect(fs.statSync(path.join(dir, 'audit.log')).mode & 0o777).toBe(0o600);
});

test('a restart resumes the chain from the last entry on disk', async () => {
  log = await openAuditLog({ dir });
  await appendMany(log, 3);
  const third = (await log.page({ limit: 10 })).entries[2]!;
  await log.close();

  log = await openAuditLog({ dir });
  const fourth = await log.append(input(4));
  expect(fourth).toMatchObject({ seq: 4, prevHash: third.hash });
  expect(await verifyAuditDir(dir)).toMatchObject({ ok: true, entries: 4, files: ['audit.log'] });
});

test('200 concurrent appends form one chain, in call order', async () => {
  log = await openAuditLog({ dir });
  const l = log;
  const entries = await Promise.all(Array.from({ length: 200 }, (_, i) => l.append(input(i, { correlationId: `c${i}` }))));

  expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  expect(entries.map((e) => e.correlationId)).toEqual(Array.from({ length: 200 }, (_, i) => `c${i}`));
  entries.slice(1).forEach((e, i) => expect(e.prevHash).toBe(entries[i]!.hash));
  expect(lines()).toHaveLength(201);
  expect(await verifyAuditDir(dir)).toMatchObject({ ok: true, entries: 200 });
});

test('rotation keeps maxFiles files, each under maxFileBytes, and the survivors still verify', async () => {
  log = await openAuditLog({ dir, maxFileBytes: 2048, maxFiles: 3 });
  await appendMany(log, 60);

  const rotated = rotatedFiles();
  expect(fs.readdirSync(dir)).toHaveLength(3);
  expect(rotated).toEqual([expect.stringMatching(/^audit\.log\.\d{12}$/), expect.stringMatching(/^audit\.log\.\d{12}$/)]);
  for (const n of [...rotated, 'audit.log']) expect(fs.statSync(path.join(dir, n)).size).toBeLessThanOrEqual(2048);

  const result = await verifyAuditDir(dir);
  if (!result.ok) throw new Error(result.reason);
  expect(result.last.seq).toBe(60);
  // The oldest survivor is named after its first seq and its header anchors it to the deleted file.
  const firstSeq = firstSeqOf(rotated[0]!);
  expect(firstSeq).toBeGreaterThan(1);
  expect(JSON.parse(lines(rotated[0])[0]!).prevSeq).toBe(firstSeq - 1);
  expect(result.entries).toBe(60 - firstSeq + 1);

  // Restarting after rotation continues in the active file.
  await log.close();
  log = await openAuditLog({ dir, maxFileBytes: 2048, maxFiles: 3 });
  expect((await log.append(input(61))).seq).toBe(61);
  expect(await verifyAuditDir(dir)).toMatchObject({ ok: true });
});

test('page walks every surviving entry across rotated files, oldest first', async () => {
  log = await openAuditLog({ dir, maxFileBytes: 1500, maxFiles: 4 });
  await appendMany(log, 40);
  const oldest = firstSeqOf(rotatedFiles()[0]!);
  expect(oldest).toBeGreaterThan(1);

  const seen: number[] = [];
  let afterSeq: number | null = 0;
  while (afterSeq !== null) {
    const page: Awaited<ReturnType<AuditLog['page']>> = await log.page({ afterSeq, limit: 7 });
    seen.push(...page.entries.map((e) => e.seq));
    afterSeq = page.nextAfterSeq;
  }
  expect(seen).toEqual(Array.from({ length: 40 - oldest + 1 }, (_, i) => oldest + i));

  const mid = await log.page({ afterSeq: 30, limit: 5 });
  expect(mid.entries.map((e) => e.seq)).toEqual([31, 32, 33, 34, 35]);
  expect(mid.nextAfterSeq).toBe(35);
  expect(await log.page({ afterSeq: 35, limit: 5 })).toMatchObject({ nextAfterSeq: null });
  expect(await log.page({ afterSeq: 40, limit: 1000 })).toEqual({ entries: [], nextAfterSeq: null });
});

test.each([
  [{ limit: 0 }],
  [{ limit: 1001 }],
  [{ limit: 2.5 }],
  [{ limit: Number.NaN }],
  [{ limit: 10, afterSeq: -1 }],
  [{ limit: 10, afterSeq: 1.5 }],
])('page(%j) rejects with a RangeError', async (opts) => {
  log = await openAuditLog({ dir });
  await expect(log.page(opts)).rejects.toThrow(RangeError);
});

test('a torn last line is cut off on open and recorded in an audit.recover entry', async () => {
  log = await openAuditLog({ dir });
  await appendMany(log, 3);
  await log.close();
  const torn = '{"seq":4,"ts":"2026-03-01T12:00';
  fs.appendFileSync(path.join(dir, 'audit.log'), torn);
  expect(await verifyAuditDir(dir)).toMatchObject({ ok: false, brokenAt: { file: 'audit.log', line: 5, seq: 4 } });

  const warnings: string[] = [];
  log = await openAuditLog({ dir, warn: (m) => warnings.push(m) });
  expect(warnings).toEqual([expect.stringContaining('incomplete line 5')]);
  const { entries } = await log.page({ afterSeq: 3, limit: 10 });
  expect(entries).toEqual([expect.objectContaining({ seq: 4, action: 'audit.recover', actor: 'agent', detail: expect.stringContaining(JSON.stringify(torn)) })]);
  expect((await log.append(input(5))).seq).toBe(5);
  expect(await verifyAuditDir(dir)).toMatchObject({ ok: true, entries: 5 });
});

test('open refuses to extend an active file that is broken other than by a torn last line', async () => {
  log = await openAuditLog({ dir });
  await appendMany(log, 3);
  await log.close();
  log = null;
  const file = path.join(dir, 'audit.log');
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"seq":2,', '"seq":7,'));
  const before = fs.readFileSync(file);

  await expect(openAuditLog({ dir })).rejects.toThrow(/audit\.log is broken at line 3: seq 7 where 2 was expected/);
  expect(fs.readFileSync(file)).toEqual(before);
});

test('after a crash between rotating audit.log away and creating the next, open resumes from the rotated file', async () => {
  log = await openAuditLog({ dir });
  await appendMany(log, 3);
  await log.close();
  fs.renameSync(path.join(dir, 'audit.log'), path.join(dir, 'audit.log.000000000001'));
  fs.writeFileSync(path.join(dir, 'audit.log.tmp'), '{"kind":'); // a half-written successor

  log = await openAuditLog({ dir });
  expect((await log.append(input(4))).seq).toBe(4);
  expect(await verifyAuditDir(dir)).toMatchObject({ ok: true, entries: 4, files: ['audit.log.000000000001', 'audit.log'] });
});

test('a malformed entry is refused before anything is written', async () => {
  log = await openAuditLog({ dir });
  await log.append(input(1));
  const before = fs.readFileSync(path.join(dir, 'audit.log'));

  await expect(log.append(input(2, { actor: '' }))).rejects.toThrow(TypeError);
  await expect(log.append(input(2, { result: 'maybe' as never }))).rejects.toThrow(/invalid result/);
  await expect(log.append(input(2, { argv: ['ok', 3 as never] }))).rejects.toThrow(/invalid argv/);
  await expect(log.append(input(2, { exitCode: 1.5 }))).rejects.toThrow(/invalid exitCode/);
  expect(fs.readFileSync(path.join(dir, 'audit.log'))).toEqual(before);
  expect((await log.append(input(2))).seq).toBe(2);
});

test('an I/O failure refuses every later append until the log is reopened', async () => {
  // A non-empty directory where the rotated file must go makes the rotation's rename fail, even as root.
  log = await openAuditLog({ dir, maxFileBytes: 600 }); // room for one entry per file
  fs.mkdirSync(path.join(dir, 'audit.log.000000000001'));
  fs.writeFileSync(path.join(dir, 'audit.log.000000000001', 'x'), '');
  await log.append(input(1));

  await expect(log.append(input(2))).rejects.toThrow(/write failed/);
  await expect(log.append(input(2))).rejects.toThrow(/write failed/);
  await expect(log.page({ limit: 10 })).rejects.toThrow(/write failed/);

  await log.close();
  fs.rmSync(path.join(dir, 'audit.log.000000000001'), { recursive: true });
  log = await openAuditLog({ dir, maxFileBytes: 600 });
  expect((await log.append(input(2))).seq).toBe(2);
  expect(await verifyAuditDir(dir)).toMatchObject({ ok: true, entries: 2, files: ['audit.log.000000000001', 'audit.log'] });
});

test('append after close rejects', async () => {
  const l = await openAuditLog({ dir });
  await l.close();
  await expect(l.append(input(1))).rejects.toThrow(/closed/);
});

test.each([[{ maxFileBytes: 0 }], [{ maxFiles: 0 }], [{ maxFiles: 1.5 }]])('openAuditLog(%j) rejects with a RangeError', async (opts) => {
  await expect(openAuditLog({ dir, ...opts })).rejects.toThrow(RangeError);
});
