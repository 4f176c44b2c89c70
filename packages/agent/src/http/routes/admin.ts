import { randomUUID } from 'node:crypto';
import type { Request, Response, Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { CommandRequest, type CommandResult } from '@viworks/protocol';
import type { AuditLog } from '../../audit/auditLog';
import { CommandRejected, type Catalogue } from '../../commands/catalogue';
import { followLog, MAX_FOLLOW_FROM_LINES, resolveLogPath } from '../../commands/logFiles';
import { runProcess } from '../../commands/runProcess';
import type { Role } from '../../security/roles';
import { requireRole, principalOf } from '../middleware/authenticate';
import { HttpError } from '../middleware/errors';
import type { AuditSink } from '../auditSink';

export interface AdminDeps {
  catalogue: Catalogue;
  /** The real log: command entries are awaited, so nothing runs unaudited. */
  audit: Pick<AuditLog, 'append' | 'page'>;
  /** For denials written on the side. */
  sideAudit: AuditSink;
  logger: Logger;
  logRoots: readonly string[];
  runAs: { uid: number; gid: number } | null;
  maxOutputBytes: number;
}

function zodMessage(err: z.ZodError): string {
  const issue = err.issues[0]!;
  return `${issue.path.join('.') || 'body'}: ${issue.message}`;
}

/**
 * Remote administration: named commands, service control and log access.
 * Every attempt leaves an audit entry; a run leaves one before it starts
 * (durable first, so a crash mid-command still shows) and one when it ends.
 */
export function adminRoutes(deps: AdminDeps): (router: Router) => void {
  const { catalogue, audit, sideAudit, logger } = deps;

  async function execute(req: Request, res: Response, action: string, name: string, params: unknown): Promise<void> {
    const id = randomUUID();
    const actor = principalOf(res).id;
    const ip = req.ip ?? '';
    let prepared;
    try {
      prepared = await catalogue.prepare(name, params);
    } catch (err) {
      if (!(err instanceof CommandRejected)) throw err;
      await sideAudit.append({ actor, ip, action, result: 'rejected', target: name.slice(0, 200), detail: `${err.code}: ${err.message}`, correlationId: id });
      res.status(400).json({ id, status: 'rejected', error: { code: err.code, message: err.message, param: err.param ?? null } });
      return;
    }
    try {
      await audit.append({ actor, ip, action, result: 'started', target: name, argv: prepared.argv, correlationId: id });
    } catch (err) {
      logger.error({ err }, 'audit log unavailable: refusing to run');
      throw new HttpError(503, 'audit_unavailable', 'the audit log cannot be written, so nothing runs');
    }
    const r = await runProcess(prepared.argv, {
      timeoutMs: prepared.def.timeoutMs,
      maxOutputBytes: deps.maxOutputBytes,
      ...(deps.runAs ?? {}),
    });
    await sideAudit.append({
      actor,
      ip,
      action,
      result: r.status,
      target: name,
      exitCode: r.exitCode,
      durationMs: Math.round(r.durationMs),
      detail: r.truncated ? 'output truncated' : r.signal ? `signal ${r.signal}` : null,
      correlationId: id,
    });
    const body: CommandResult = {
      id,
      command: name,
      status: r.status,
      exit_code: r.exitCode,
      signal: r.signal,
      stdout: r.stdout,
      stderr: r.stderr,
      duration_ms: Math.round(r.durationMs),
      truncated: r.truncated,
    };
    res.json(body);
  }

  const role = (r: Role) => requireRole(r, sideAudit);

  return (router) => {
    router.get('/api/v1/commands', role('viewer'), (_req, res) => {
      res.json({ commands: catalogue.list() });
    });

    // Commands are the most dangerous thing the agent does: admin only.
    router.post('/api/v1/command', role('admin'), async (req, res) => {
      const body = CommandRequest.safeParse(req.body);
      if (!body.success) throw new HttpError(400, 'invalid_body', zodMessage(body.error));
      await execute(req, res, 'command', body.data.command, body.data.params ?? {});
    });

    router.post('/api/v1/services/:name/:action', role('operator'), async (req, res) => {
      const action = String(req.params.action);
      if (!['start', 'stop', 'restart'].includes(action)) {
        throw new HttpError(400, 'invalid_action', `action must be start, stop or restart, not "${action.slice(0, 50)}"`);
      }
      await execute(req, res, `service.${action}`, `service.${action}`, { name: req.params.name });
    });

    router.get('/api/v1/logs', role('operator'), async (req, res) => {
      const q = z
        .object({ file: z.string().min(1).max(4096), lines: z.coerce.number().int('must be a whole number').min(1).max(5000).default(100) })
        .strict()
        .safeParse(req.query);
      if (!q.success) throw new HttpError(400, 'invalid_query', zodMessage(q.error));
      await execute(req, res, 'logs.tail', 'logs.tail', q.data);
    });

    router.get('/api/v1/logs/stream', role('operator'), async (req, res) => {
      const q = z
        .object({ file: z.string().min(1).max(4096), from_lines: z.coerce.number().int().min(0).max(MAX_FOLLOW_FROM_LINES).default(10) })
        .strict()
        .safeParse(req.query);
      if (!q.success) throw new HttpError(400, 'invalid_query', zodMessage(q.error));
      const actor = principalOf(res).id;
      let file: string;
      try {
        file = await resolveLogPath(q.data.file, deps.logRoots);
      } catch (err) {
        if (!(err instanceof CommandRejected)) throw err;
        await sideAudit.append({ actor, ip: req.ip ?? '', action: 'logs.follow', result: 'rejected', target: q.data.file.slice(0, 200), detail: err.message });
        res.status(400).json({ status: 'rejected', error: { code: err.code, message: err.message, param: 'file' } });
        return;
      }
      await sideAudit.append({ actor, ip: req.ip ?? '', action: 'logs.follow', result: 'allowed', target: file });
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.flushHeaders();
      const abort = new AbortController();
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      req.on('close', () => abort.abort());
      try {
        await followLog(file, {
          signal: abort.signal,
          fromLines: q.data.from_lines,
          // A line never holds "\n", so one data field per event is exact.
          onLine: (line) => res.write(`data: ${line.replace(/\r/g, '')}\n\n`),
        });
      } catch (err) {
        logger.warn({ err, file }, 'log follow ended with an error');
        res.write(`event: error\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`);
      } finally {
        clearInterval(heartbeat);
        res.end();
      }
    });

    router.get('/api/v1/audit', role('admin'), async (req, res) => {
      const q = z
        .object({
          after: z.coerce.number().int('must be a whole number').min(0).optional(),
          limit: z.coerce.number().int('must be a whole number').min(1).max(1000).default(100),
        })
        .strict()
        .safeParse(req.query);
      if (!q.success) throw new HttpError(400, 'invalid_query', zodMessage(q.error));
      const page = await audit.page({ afterSeq: q.data.after, limit: q.data.limit });
      res.json({ entries: page.entries, next_after: page.nextAfterSeq });
    });
  };
}
