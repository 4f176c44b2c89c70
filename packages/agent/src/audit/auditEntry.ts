import { createHash } from 'node:crypto';
import type { AuditEntry, AuditEntryInput, AuditResult } from './auditLog';

/** A position in the hash chain: an entry's seq and hash (seq 0 is "before the first entry"). */
export interface ChainPoint {
  readonly seq: number;
  readonly hash: string;
}

/** prevHash of the first entry ever written. */
export const GENESIS_HASH = '0'.repeat(64);
export const GENESIS: ChainPoint = Object.freeze({ seq: 0, hash: GENESIS_HASH });

export const AUDIT_RESULTS: readonly AuditResult[] = ['started', 'completed', 'failed', 'timed_out', 'rejected', 'denied', 'allowed'];

// Written in this order so that a person reading the file sees seq and time first.
const FIELDS = ['seq', 'ts', 'actor', 'ip', 'action', 'result', 'target', 'argv', 'exitCode', 'durationMs', 'detail', 'correlationId', 'prevHash', 'hash'] as const;
// Hashed in sorted key order, values as JSON.stringify writes them: that is the RFC 8785
// (JCS) canonical form for these value types, so any language with a JCS library can
// recompute a hash without knowing our write order.
const HASHED = FIELDS.filter((f) => f !== 'hash').sort();

const isString = (v: unknown) => typeof v === 'string';
const isNonEmpty = (v: unknown) => typeof v === 'string' && v.length > 0;
const isHash = (v: unknown) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const nullable = (check: (v: unknown) => boolean) => (v: unknown) => v === null || check(v);

const CHECKS: { readonly [K in keyof AuditEntry]-?: (v: unknown) => boolean } = {
  seq: (v) => Number.isSafeInteger(v) && (v as number) >= 1,
  ts: (v) => typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(v),
  actor: isNonEmpty,
  ip: isString,
  action: isNonEmpty,
  result: (v) => AUDIT_RESULTS.includes(v as AuditResult),
  target: nullable(isString),
  argv: nullable((v) => Array.isArray(v) && v.every(isString)),
  exitCode: nullable(Number.isSafeInteger),
  durationMs: nullable((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0),
  detail: nullable(isString),
  correlationId: nullable(isString),
  prevHash: isHash,
  hash: isHash,
};

export function hashEntry(entry: Omit<AuditEntry, 'hash'>): string {
  const body: Record<string, unknown> = {};
  for (const k of HASHED) body[k] = entry[k];
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}

/** The entry's line in the file, without the newline. */
export function formatEntryLine(entry: AuditEntry): string {
  const ordered: Record<string, unknown> = {};
  for (const k of FIELDS) ordered[k] = entry[k];
  return JSON.stringify(ordered);
}

/** Why a parsed line is not a well-formed entry, or null when it is. */
export function entryProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const record = value as Record<string, unknown>;
  for (const k of FIELDS) if (!CHECKS[k](record[k])) return `missing or invalid field "${k}"`;
  return null;
}

/**
 * The entry that follows `prev`. Absent optional fields become null so that every
 * entry on disk has every field. Throws a TypeError for a malformed input, before any I/O.
 */
export function buildEntry(input: AuditEntryInput, prev: ChainPoint, ts: string): AuditEntry {
  const body: Omit<AuditEntry, 'hash'> = {
    seq: prev.seq + 1,
    ts,
    actor: input.actor,
    ip: input.ip,
    action: input.action,
    result: input.result,
    target: input.target ?? null,
    argv: input.argv ? [...input.argv] : null,
    exitCode: input.exitCode ?? null,
    durationMs: input.durationMs ?? null,
    detail: input.detail ?? null,
    correlationId: input.correlationId ?? null,
    prevHash: prev.hash,
  };
  for (const k of FIELDS) {
    if (k !== 'hash' && !CHECKS[k](body[k])) throw new TypeError(`audit entry: invalid ${k}: ${JSON.stringify(body[k])}`);
  }
  return { ...body, hash: hashEntry(body) };
}
