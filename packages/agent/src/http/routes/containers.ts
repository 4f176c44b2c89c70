import { randomUUID } from 'node:crypto';
import type { Request, Response, Router } from 'express';
import type { Logger } from 'pino';
import { CleanupRequest, type SessionList } from '@viworks/protocol';
import type { AuditLog } from '../../audit/auditLog';
import { cleanupAndAudit } from '../../containers/cleanupLoop';
import type { SessionPolicy } from '../../containers/policy';
import { SessionError } from '../../containers/sessionError';
import type { SessionManager, SessionRef } from '../../containers/sessionManager';
import { validateSessionRequest, type SessionSpec } from '../../containers/validateSessionRequest';
import type { AuditSink } from '../auditSink';
import { principalOf, requireRole } from '../middleware/authenticate';
import { HttpError } from '../middleware/errors';

export interface ContainerRouteDeps {
  manager: SessionManager;
  policy: SessionPolicy;
  /** The real log: a session action is refused (503) if its 'started' entry cannot be written. */
  audit: Pick<AuditLog, 'append'>;
  /** For rejections and outcomes, written on the side. */
  sideAudit: AuditSink;
  logger: Logger;
}

const toHttp = (err: unknown): unknown => (err instanceof SessionError ? new HttpError(err.status, err.code, err.message) : err);

// Container ids, id prefixes and session ids; never a path.
const REF = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function describeSpec(s: SessionSpec): string {
  const env = Object.keys(s.env);
  return (
    `user ${s.username}, image ${s.image}, memory ${s.memoryBytes / 1024 / 1024} MiB, cpu_shares ${s.cpuShares}, pids ${s.pidsLimit}, ` +
    `ports [${s.ports.join(',')}], env keys [${env.join(',')}], ${s.readOnlyRoot ? 'read-only root' : 'writable root'}`
  );
}

/**
 * User session containers (role operator; listing needs viewer). Every attempt
 * is audited: a refusal as 'rejected'; an action as 'started' (awaited, so
 * nothing happens unaudited) then 'completed', 'rejected' or 'failed'.
 */
export function containerRoutes(deps: ContainerRouteDeps): (router: Router) => void {
  const { manager, policy, audit, sideAudit } = deps;
  const who = (req: Request, res: Response) => ({ actor: principalOf(res).id, ip: req.ip ?? '' });

  async function reject(req: Request, res: Response, action: string, target: string, err: unknown): Promise<never> {
    if (err instanceof SessionError) {
      await sideAudit.append({ ...who(req, res), action, result: 'rejected', target: target.slice(0, 200), detail: `${err.code}: ${err.message}` });
    }
    throw toHttp(err);
  }

  async function audited<T>(
    req: Request,
    res: Response,
    entry: { action: string; target: string; detail?: string },
    run: () => Promise<T>,
    doneTarget: (v: T) => string = () => entry.target,
  ): Promise<T> {
    const correlationId = randomUUID();
    const base = { ...who(req, res), action: entry.action, correlationId };
    try {
      await audit.append({ ...base, result: 'started', target: entry.target, detail: entry.detail ?? null });
    } catch (err) {
      deps.logger.error({ err }, 'audit log unavailable: refusing a session action');
      throw new HttpError(503, 'audit_unavailable', 'the audit log cannot be written, so nothing is changed');
    }
    const started = performance.now();
    try {
      const v = await run();
      await sideAudit.append({ ...base, result: 'completed', target: doneTarget(v), durationMs: Math.round(performance.now() - started) });
      return v;
    } catch (err) {
      const refused = err instanceof SessionError && err.status < 500;
      await sideAudit.append({
        ...base,
        result: refused ? 'rejected' : 'failed',
        target: entry.target,
        durationMs: Math.round(performance.now() - started),
        detail: err instanceof SessionError ? `${err.code}: ${err.message}` : String((err as Error)?.message ?? err),
      });
      throw toHttp(err);
    }
  }

  async function resolve(req: Request, res: Response, action: string): Promise<SessionRef> {
    const ref = String(req.params.id);
    try {
      if (!REF.test(ref)) throw new SessionError(400, 'invalid_id', 'id: give a container id, id prefix (12+ hex) or session id');
      return await manager.find(ref);
    } catch (err) {
      return reject(req, res, action, ref, err);
    }
  }

  const operator = requireRole('operator', sideAudit);
  const viewer = requireRole('viewer', sideAudit);

  return (router) => {
    router.get('/api/v1/containers', viewer, async (_req, res) => {
      try {
        const body: SessionList = { containers: await manager.list() };
        res.json(body);
      } catch (err) {
        throw toHttp(err);
      }
    });

    router.post('/api/v1/containers', operator, async (req, res) => {
      let spec: SessionSpec;
      try {
        spec = validateSessionRequest(req.body, policy);
      } catch (err) {
        const sid = (req.body as { session_id?: unknown } | undefined)?.session_id;
        return reject(req, res, 'container.create', typeof sid === 'string' ? `session ${sid}` : '', err);
      }
      const info = await audited(
        req,
        res,
        { action: 'container.create', target: `session ${spec.sessionId}`, detail: describeSpec(spec) },
        () => manager.spawn(spec, principalOf(res).id),
        (c) => c.id,
      );
      res.status(201).location(`/api/v1/containers/${info.id}`).json(info);
    });

    router.post('/api/v1/containers/cleanup', operator, async (req, res) => {
      const body = CleanupRequest.safeParse(req.body ?? {});
      if (!body.success) {
        const issue = body.error.issues[0]!;
        return reject(req, res, 'container.cleanup', '', new SessionError(400, 'invalid_body', `${issue.path.join('.') || 'body'}: ${issue.message}`));
      }
      const w = who(req, res);
      const correlationId = randomUUID();
      try {
        await audit.append({ ...w, action: 'container.cleanup', result: 'started', detail: JSON.stringify(body.data), correlationId });
      } catch {
        throw new HttpError(503, 'audit_unavailable', 'the audit log cannot be written, so nothing is changed');
      }
      try {
        const result = await cleanupAndAudit(manager, sideAudit, w, {
          ttlSeconds: body.data.ttl_seconds ?? policy.ttlSeconds,
          exitedTtlSeconds: body.data.exited_ttl_seconds ?? policy.exitedTtlSeconds,
          dryRun: body.data.dry_run ?? false,
        }, correlationId);
        res.json(result);
      } catch (err) {
        await sideAudit.append({ ...w, action: 'container.cleanup', result: 'failed', detail: err instanceof Error ? err.message : String(err), correlationId });
        throw toHttp(err);
      }
    });

    for (const action of ['stop', 'start'] as const) {
      router.post(`/api/v1/containers/:id/${action}`, operator, async (req, res) => {
        const ref = await resolve(req, res, `container.${action}`);
        const info = await audited(req, res, { action: `container.${action}`, target: ref.id, detail: `session ${ref.sessionId ?? '?'}` }, () => manager[action](ref));
        res.json(info);
      });
    }

    router.delete('/api/v1/containers/:id', operator, async (req, res) => {
      const ref = await resolve(req, res, 'container.remove');
      await audited(req, res, { action: 'container.remove', target: ref.id, detail: `session ${ref.sessionId ?? '?'}` }, () => manager.remove(ref));
      res.json({ id: ref.id, session_id: ref.sessionId, removed: true });
    });
  };
}
