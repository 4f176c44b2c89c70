import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CleanupResult } from '@viworks/protocol';
import type { AuditEntryInput } from '../audit/auditLog';
import { SessionError } from './sessionError';
import type { CleanupOptions, SessionManager } from './sessionManager';

export interface CleanupAudit {
  append(e: AuditEntryInput): Promise<unknown>;
}

/**
 * Runs a cleanup and leaves one audit entry per removed session (action
 * container.remove, the reason in detail) plus one for the run, all linked by
 * one correlation id. Used by the API, at agent start and by the loop; the loop
 * passes auditIdle false so a run that changed nothing leaves no entry (one every
 * five minutes would bury the entries that matter).
 */
export async function cleanupAndAudit(
  manager: SessionManager,
  audit: CleanupAudit,
  who: { actor: string; ip: string },
  opts: CleanupOptions,
  correlationId: string = randomUUID(),
  auditIdle = true,
): Promise<CleanupResult> {
  const result = await manager.cleanup(opts);
  if (!result.dry_run) {
    for (const r of result.removed) {
      await audit.append({ ...who, action: 'container.remove', result: 'completed', target: r.id, detail: `cleanup: ${r.reason}; session ${r.session_id ?? '?'}`, correlationId });
    }
    for (const f of result.failed) {
      await audit.append({ ...who, action: 'container.remove', result: 'failed', target: f.id, detail: `cleanup: ${f.error}`, correlationId });
    }
  }
  if (!auditIdle && result.removed.length === 0 && result.failed.length === 0) return result;
  await audit.append({
    ...who,
    action: 'container.cleanup',
    result: result.failed.length ? 'failed' : 'completed',
    detail: `${result.dry_run ? 'dry run: would remove' : 'removed'} ${result.removed.length}, kept ${result.kept}, failed ${result.failed.length}`,
    correlationId,
  });
  return result;
}

export interface CleanupLoop {
  /** Stops the loop and waits for a run in flight. */
  stop(): Promise<void>;
}

/**
 * The TTL cleanup every intervalMs, as the agent itself (actor "agent"). Never
 * overlaps, never dies: a failed run (engine down) is logged and tried again
 * next time.
 */
export function startCleanupLoop(manager: SessionManager, audit: CleanupAudit, intervalMs: number, logger: Logger): CleanupLoop {
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> | null = null;
  let stopped = false;

  const tick = () => {
    if (stopped || inFlight) return;
    inFlight = cleanupAndAudit(manager, audit, { actor: 'agent', ip: '' }, {}, randomUUID(), false)
      .then((r) => {
        if (r.removed.length || r.failed.length) logger.info({ removed: r.removed.length, failed: r.failed.length }, 'session cleanup');
      })
      .catch((err: unknown) => {
        // A host without Docker is normal: say so quietly, not every five minutes at warn.
        if (err instanceof SessionError && err.code === 'docker_unavailable') logger.debug({ err: err.message }, 'session cleanup skipped: Docker unavailable');
        else logger.warn({ err }, 'session cleanup failed; trying again next interval');
      })
      .finally(() => (inFlight = null));
  };
  if (intervalMs > 0) {
    timer = setInterval(tick, intervalMs);
    timer.unref();
  }
  return {
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await inFlight;
    },
  };
}
