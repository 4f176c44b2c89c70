import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CleanupResult } from '@viworks/protocol';
import type { AuditEntryInput } from '../audit/auditLog';
import type { CleanupOptions, SessionManager } from './sessionManager';

export interface CleanupAudit {
  append(e: AuditEntryInput): Promise<unknown>;
}

/**
 * Runs a cleanup and leaves one audit entry per removed session (action
 * container.remove, the reason in detail) plus one for the run, all linked by
 * one correlation id. Used by the API, at agent start and by the loop.
 */
export async function cleanupAndAudit(
  manager: SessionManager,
  audit: CleanupAudit,
  who: { actor: string; ip: string },
  opts: CleanupOptions,
  correlationId: string = randomUUID(),
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
    inFlight = cleanupAndAudit(manager, audit, { actor: 'agent', ip: '' }, {})
      .then((r) => {
        if (r.removed.length || r.failed.length) logger.info({ removed: r.removed.length, failed: r.failed.length }, 'session cleanup');
      })
      .catch((err: unknown) => logger.warn({ err }, 'session cleanup failed; trying again next interval'))
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
