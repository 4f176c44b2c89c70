import express from 'express';
import { z } from 'zod';
import { listAlerts } from '../store/alerts';
import type { Db } from '../store/db';
import { acknowledgeIncident, getIncident, listIncidents, selectMttr } from '../store/incidents';
import { listNotifications } from '../store/notifications';
import { HttpError, parseQuery } from './errors';

export interface AlertRoutesDeps {
  db: Db;
  now?: () => Date;
}

const time = (example: string) => z.iso.datetime({ offset: true, error: `must be an ISO 8601 time, e.g. ${example}` });
const id = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ -');

const AlertsQuery = z
  .strictObject({
    agent: id.optional(),
    rule: id.optional(),
    state: z.enum(['firing', 'pending', 'unknown', 'flapping', 'all'], { error: 'must be firing, pending, unknown, flapping or all' }).optional(),
  });

const IncidentsQuery = z.strictObject({
  agent: id.optional(),
  rule: id.optional(),
  from: time('2025-09-03T09:00:00Z').optional(),
  to: time('2025-09-03T10:00:00Z').optional(),
  state: z.enum(['open', 'resolved'], { error: 'must be open or resolved' }).optional(),
  limit: z.coerce.number().int('must be a whole number').min(1).max(1000).default(100),
});

const MttrQuery = z.strictObject({
  by: z.enum(['agent', 'rule', 'agent_rule'], { error: 'must be agent, rule or agent_rule' }).default('agent_rule'),
  from: time('2025-09-01T00:00:00Z').optional(),
  to: time('2025-09-08T00:00:00Z').optional(),
});

const AckBody = z.strictObject({
  by: z.string().trim().min(1, 'must name who acknowledges').max(100),
  comment: z.string().max(2000).optional(),
});

function parseId(raw: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(raw)) throw new HttpError(400, 'invalid_id', 'incident id must be a positive whole number');
  return Number(raw);
}

function range(q: { from?: string; to?: string }, now: Date, defaultSpanMs: number | null) {
  const to = q.to ? new Date(q.to) : defaultSpanMs === null ? undefined : now;
  const from = q.from ? new Date(q.from) : defaultSpanMs === null || !to ? undefined : new Date(to.getTime() - defaultSpanMs);
  if (from && to && from >= to) throw new HttpError(400, 'invalid_range', 'from must be before to');
  return { from, to };
}

/**
 * Alerts, incidents and acknowledgements:
 *   GET  /api/v1/alerts                          current alert states
 *   GET  /api/v1/incidents                       history (agent, rule, from, to, state, limit)
 *   GET  /api/v1/incidents/mttr                  mean time to recovery (by agent, rule or both)
 *   GET  /api/v1/incidents/:id                   one incident with its events and actions
 *   POST /api/v1/incidents/:id/acknowledge       { "by": "alice", "comment": "…" }
 *   GET  /api/v1/notifications                   the outbox, newest first
 */
export function alertRoutes(deps: AlertRoutesDeps): express.Router {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const router = express.Router();

  router.get('/api/v1/alerts', async (req, res) => {
    const q = parseQuery(AlertsQuery, req.query);
    res.json({ alerts: await listAlerts(db, { agentId: q.agent, rule: q.rule, state: q.state }) });
  });

  router.get('/api/v1/incidents', async (req, res) => {
    const q = parseQuery(IncidentsQuery, req.query);
    const { from, to } = range(q, now(), null);
    res.json({ incidents: await listIncidents(db, { agentId: q.agent, rule: q.rule, from, to, state: q.state, limit: q.limit }) });
  });

  router.get('/api/v1/incidents/mttr', async (req, res) => {
    const q = parseQuery(MttrQuery, req.query);
    const { from, to } = range(q, now(), 7 * 86_400_000);
    res.json({ by: q.by, from: from!.toISOString(), to: to!.toISOString(), rows: await selectMttr(db, q.by, from!, to!) });
  });

  router.get('/api/v1/incidents/:id', async (req, res) => {
    const incident = await getIncident(db, parseId(req.params.id));
    if (!incident) throw new HttpError(404, 'unknown_incident', `no incident with id ${req.params.id}`);
    res.json(incident);
  });

  router.post('/api/v1/incidents/:id/acknowledge', express.json({ limit: 16 * 1024 }), async (req, res) => {
    const incidentId = parseId(req.params.id);
    const body = AckBody.safeParse(req.body ?? {});
    if (!body.success) {
      const issue = body.error.issues[0]!;
      const field = issue.code === 'unrecognized_keys' ? issue.keys[0] : issue.path.join('.');
      throw new HttpError(400, 'invalid_body', `${field || 'body'}: ${issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message}`);
    }
    const r = await db.transaction((q) => acknowledgeIncident(q, incidentId, body.data.by, body.data.comment ?? null, now()));
    if (r.outcome === 'not_found') throw new HttpError(404, 'unknown_incident', `no incident with id ${incidentId}`);
    if (r.outcome === 'already') {
      throw new HttpError(409, 'already_acknowledged', `incident ${incidentId} was acknowledged by ${r.incident.acknowledged_by} at ${r.incident.acknowledged_at}`);
    }
    res.json(r.incident);
  });

  router.get('/api/v1/notifications', async (req, res) => {
    const q = parseQuery(z.strictObject({ limit: z.coerce.number().int('must be a whole number').min(1).max(1000).default(100) }), req.query);
    res.json({ notifications: await listNotifications(db, q.limit) });
  });

  return router;
}
