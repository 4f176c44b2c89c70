import type { AuditEntryInput } from '../audit/auditLog';

/** What the HTTP layer needs of the audit log (audit/auditLog.ts implements it). */
export type AuditRecord = AuditEntryInput;

export interface AuditSink {
  append(e: AuditRecord): Promise<unknown>;
}

export const NO_AUDIT: AuditSink = { append: async () => undefined };

/**
 * For entries written on the side (denials): a failing audit log is logged
 * loudly but never takes the agent down with an unhandled rejection. Actions
 * that must not run unaudited (commands) await the real log instead and fail
 * closed.
 */
export function sideAudit(audit: AuditSink, log: { error(o: object, m: string): void }): AuditSink {
  return {
    append: (e) =>
      audit.append(e).catch((err) => {
        log.error({ err, entry: { ...e, argv: undefined } }, 'AUDIT LOG WRITE FAILED');
      }),
  };
}
