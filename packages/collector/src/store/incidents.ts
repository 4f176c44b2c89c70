import type { AlertEvent, IncidentChange } from '../alerts/types';
import type { Queryable } from './db';

const iso = (d: Date | string | null | undefined) => (d === null || d === undefined ? null : new Date(d).toISOString());
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/**
 * Writes one evaluation's incident changes: opens (reusing an incident that
 * is somehow still open for the same alert), updates, resolutions and their
 * events. `known` maps alert keys to their open incident ids and is returned
 * completed with the new ones.
 */
export async function applyIncidentChanges(
  q: Queryable,
  changes: readonly IncidentChange[],
  events: readonly AlertEvent[],
  known: ReadonlyMap<string, number | null>,
): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const [k, v] of known) if (v !== null) ids.set(k, v);

  const opens = changes.filter((c) => c.op === 'open');
  if (opens.length > 0) {
    const { rows } = await q.query<{ id: string | number; alert_key: string }>(
      `INSERT INTO incidents (alert_key, rule, agent_id, subject, severity, peak_severity, peak_value, summary,
                              opened_at, flap_count, escalated, updated_at)
       SELECT k, r, a, sub, sev, psev, pv, summ, at, fc, esc, at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::text[],
                   $9::timestamptz[], $10::int[], $11::boolean[])
         AS u(k, r, a, sub, sev, psev, pv, summ, at, fc, esc)
       ON CONFLICT (alert_key) WHERE resolved_at IS NULL DO UPDATE SET updated_at = EXCLUDED.updated_at
       RETURNING id, alert_key`,
      [
        opens.map((c) => c.key),
        opens.map((c) => c.rule),
        opens.map((c) => c.agentId),
        opens.map((c) => c.subject),
        opens.map((c) => c.severity),
        opens.map((c) => c.peakSeverity),
        opens.map((c) => c.peakValue),
        opens.map((c) => c.summary),
        opens.map((c) => c.at),
        opens.map((c) => c.flapCount),
        opens.map((c) => c.escalated),
      ],
    );
    for (const r of rows) ids.set(r.alert_key, Number(r.id));
  }

  const updates = changes.filter((c) => c.op !== 'open' && ids.has(c.key));
  if (updates.length > 0) {
    await q.query(
      `UPDATE incidents i SET
         severity = u.sev, peak_severity = u.psev, peak_value = u.pv, flap_count = u.fc, escalated = u.esc,
         resolved_at = CASE WHEN u.resolve THEN u.at ELSE i.resolved_at END, updated_at = u.at
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::float8[], $5::int[], $6::boolean[], $7::boolean[], $8::timestamptz[])
         AS u(id, sev, psev, pv, fc, esc, resolve, at)
       WHERE i.id = u.id`,
      [
        updates.map((c) => ids.get(c.key)),
        updates.map((c) => c.severity),
        updates.map((c) => c.peakSeverity),
        updates.map((c) => c.peakValue),
        updates.map((c) => c.flapCount),
        updates.map((c) => c.escalated),
        updates.map((c) => c.op === 'resolve'),
        updates.map((c) => c.at),
      ],
    );
  }

  await insertIncidentEvents(
    q,
    events
      .filter((e) => ids.has(e.key))
      .map((e) => ({ incidentId: ids.get(e.key)!, ts: e.at, kind: e.kind, severity: e.severity, value: e.value, actor: null, detail: e.detail })),
  );
  return ids;
}

/** An event to write: the API's IncidentEvent plus the incident it belongs to. */
export interface IncidentEventRow extends IncidentEvent {
  incidentId: number;
}

export async function insertIncidentEvents(q: Queryable, rows: readonly IncidentEventRow[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `INSERT INTO incident_events (incident_id, ts, kind, severity, value, actor, detail)
     SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::float8[], $6::text[], $7::text[])`,
    [
      rows.map((r) => r.incidentId),
      rows.map((r) => r.ts),
      rows.map((r) => r.kind),
      rows.map((r) => r.severity),
      rows.map((r) => r.value),
      rows.map((r) => r.actor),
      rows.map((r) => r.detail),
    ],
  );
}

interface DbIncident {
  id: string | number;
  alert_key: string;
  rule: string;
  agent_id: string;
  subject: string | null;
  severity: string;
  peak_severity: string;
  peak_value: number | null;
  summary: string;
  opened_at: Date;
  resolved_at: Date | null;
  duration_seconds: number | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  ack_comment: string | null;
  flap_count: number;
  escalated: boolean;
}

export interface Incident {
  id: number;
  alert_key: string;
  rule: string;
  agent_id: string;
  subject: string | null;
  state: 'open' | 'resolved';
  severity: string;
  peak_severity: string;
  peak_value: number | null;
  summary: string;
  opened_at: string;
  resolved_at: string | null;
  duration_seconds: number | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  ack_comment: string | null;
  flap_count: number;
  escalated: boolean;
}

function toIncident(r: DbIncident): Incident {
  return {
    id: Number(r.id),
    alert_key: r.alert_key,
    rule: r.rule,
    agent_id: r.agent_id,
    subject: r.subject,
    state: r.resolved_at === null ? 'open' : 'resolved',
    severity: r.severity,
    peak_severity: r.peak_severity,
    peak_value: num(r.peak_value),
    summary: r.summary,
    opened_at: iso(r.opened_at)!,
    resolved_at: iso(r.resolved_at),
    duration_seconds: num(r.duration_seconds),
    acknowledged_at: iso(r.acknowledged_at),
    acknowledged_by: r.acknowledged_by,
    ack_comment: r.ack_comment,
    flap_count: Number(r.flap_count),
    escalated: r.escalated,
  };
}

export interface IncidentFilters {
  agentId?: string;
  rule?: string;
  /** Incidents open at any moment of [from, to). */
  from?: Date;
  to?: Date;
  state?: 'open' | 'resolved';
  limit: number;
}

/** Newest first. The time filter keeps incidents that overlap the range, not only those opened in it. */
export async function listIncidents(q: Queryable, f: IncidentFilters): Promise<Incident[]> {
  const { rows } = await q.query<DbIncident>(
    `SELECT * FROM incidents
     WHERE ($1::text IS NULL OR agent_id = $1)
       AND ($2::text IS NULL OR rule = $2)
       AND ($3::timestamptz IS NULL OR resolved_at IS NULL OR resolved_at >= $3)
       AND ($4::timestamptz IS NULL OR opened_at < $4)
       AND ($5::text IS NULL OR ($5 = 'open') = (resolved_at IS NULL))
     ORDER BY opened_at DESC, id DESC
     LIMIT $6`,
    [f.agentId ?? null, f.rule ?? null, iso(f.from), iso(f.to), f.state ?? null, f.limit],
  );
  return rows.map(toIncident);
}

export interface IncidentEvent {
  ts: string;
  kind: string;
  severity: string | null;
  value: number | null;
  actor: string | null;
  detail: string | null;
}

export interface IncidentAction {
  id: number;
  action: string;
  service: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  agent_command_id: string | null;
  detail: string | null;
}

export async function getIncident(q: Queryable, id: number): Promise<(Incident & { events: IncidentEvent[]; actions: IncidentAction[] }) | null> {
  const { rows } = await q.query<DbIncident>('SELECT * FROM incidents WHERE id = $1', [id]);
  if (!rows[0]) return null;
  const { rows: events } = await q.query<{ ts: Date; kind: string; severity: string | null; value: number | null; actor: string | null; detail: string | null }>(
    'SELECT ts, kind, severity, value, actor, detail FROM incident_events WHERE incident_id = $1 ORDER BY id',
    [id],
  );
  const { rows: actions } = await q.query<DbAction>('SELECT * FROM incident_actions WHERE incident_id = $1 ORDER BY id', [id]);
  return {
    ...toIncident(rows[0]),
    events: events.map((e) => ({ ts: iso(e.ts)!, kind: e.kind, severity: e.severity, value: num(e.value), actor: e.actor, detail: e.detail })),
    actions: actions.map((a) => ({
      id: Number(a.id),
      action: a.action,
      service: a.service,
      status: a.status,
      started_at: iso(a.started_at)!,
      finished_at: iso(a.finished_at),
      agent_command_id: a.agent_command_id,
      detail: a.detail,
    })),
  };
}

export type AckResult = { outcome: 'acknowledged'; incident: Incident } | { outcome: 'not_found' } | { outcome: 'already'; incident: Incident };

/** Records who acknowledged an incident; a second acknowledgement changes nothing. */
export async function acknowledgeIncident(q: Queryable, id: number, by: string, comment: string | null, at: Date): Promise<AckResult> {
  const { rows } = await q.query<DbIncident>(
    `UPDATE incidents SET acknowledged_at = $2, acknowledged_by = $3, ack_comment = $4, updated_at = $2
     WHERE id = $1 AND acknowledged_at IS NULL RETURNING *`,
    [id, at.toISOString(), by, comment],
  );
  if (rows[0]) {
    await insertIncidentEvents(q, [{ incidentId: id, ts: at.toISOString(), kind: 'acknowledged', severity: null, value: null, actor: by, detail: comment }]);
    return { outcome: 'acknowledged', incident: toIncident(rows[0]) };
  }
  const { rows: existing } = await q.query<DbIncident>('SELECT * FROM incidents WHERE id = $1', [id]);
  return existing[0] ? { outcome: 'already', incident: toIncident(existing[0]) } : { outcome: 'not_found' };
}

export interface MttrRow {
  agent_id: string | null;
  rule: string | null;
  incidents: number;
  mttr_seconds: number;
  longest_seconds: number;
}

/** Mean time to recovery of incidents resolved in [from, to), per agent, per rule or per both. */
export async function selectMttr(q: Queryable, by: 'agent' | 'rule' | 'agent_rule', from: Date, to: Date): Promise<MttrRow[]> {
  const { rows } = await q.query<MttrRow>(
    `SELECT CASE WHEN $1 IN ('agent', 'agent_rule') THEN agent_id END AS agent_id,
            CASE WHEN $1 IN ('rule', 'agent_rule') THEN rule END AS rule,
            count(*)::int AS incidents, avg(duration_seconds) AS mttr_seconds, max(duration_seconds) AS longest_seconds
     FROM incidents
     WHERE resolved_at >= $2 AND resolved_at < $3
     GROUP BY 1, 2
     ORDER BY 1 NULLS FIRST, 2 NULLS FIRST`,
    [by, from.toISOString(), to.toISOString()],
  );
  return rows.map((r) => ({ ...r, incidents: Number(r.incidents), mttr_seconds: Number(r.mttr_seconds), longest_seconds: Number(r.longest_seconds) }));
}

interface DbAction {
  id: string | number;
  incident_id: string | number | null;
  alert_key: string;
  agent_id: string;
  service: string;
  action: string;
  status: string;
  started_at: Date;
  finished_at: Date | null;
  agent_command_id: string | null;
  detail: string | null;
}

/** An automated action, as the restart planner sees it. */
export interface ActionRecord {
  id: number;
  incidentId: number | null;
  agentId: string;
  service: string;
  status: 'started' | 'succeeded' | 'failed' | 'skipped';
  startedAt: string;
  finishedAt: string | null;
  detail: string | null;
}

/** Actions on these agent × service pairs since `since`, oldest first. */
export async function selectRecentActions(
  q: Queryable,
  pairs: ReadonlyArray<{ agentId: string; service: string }>,
  since: Date,
): Promise<ActionRecord[]> {
  if (pairs.length === 0) return [];
  const { rows } = await q.query<DbAction>(
    `SELECT a.* FROM unnest($1::text[], $2::text[]) AS p(agent_id, service)
     JOIN incident_actions a ON a.agent_id = p.agent_id AND a.service = p.service AND a.started_at >= $3
     ORDER BY a.started_at, a.id`,
    [pairs.map((p) => p.agentId), pairs.map((p) => p.service), since.toISOString()],
  );
  return rows.map((a) => ({
    id: Number(a.id),
    incidentId: a.incident_id === null ? null : Number(a.incident_id),
    agentId: a.agent_id,
    service: a.service,
    status: a.status as ActionRecord['status'],
    startedAt: iso(a.started_at)!,
    finishedAt: iso(a.finished_at),
    detail: a.detail,
  }));
}

export async function insertAction(
  q: Queryable,
  a: { incidentId: number | null; alertKey: string; agentId: string; service: string; status: 'started' | 'skipped'; at: Date; detail: string | null },
): Promise<number> {
  const { rows } = await q.query<{ id: string | number }>(
    `INSERT INTO incident_actions (incident_id, alert_key, agent_id, service, action, status, started_at, finished_at, detail)
     VALUES ($1, $2, $3, $4, 'restart', $5, $6, CASE WHEN $5 = 'skipped' THEN $6::timestamptz END, $7)
     RETURNING id`,
    [a.incidentId, a.alertKey, a.agentId, a.service, a.status, a.at.toISOString(), a.detail],
  );
  const id = Number(rows[0]!.id);
  if (a.incidentId !== null) {
    await insertIncidentEvents(q, [
      { incidentId: a.incidentId, ts: a.at.toISOString(), kind: 'action', severity: null, value: null, actor: 'collector', detail: `restart ${a.service}: ${a.status}${a.detail ? ` (${a.detail})` : ''}` },
    ]);
  }
  return id;
}

export async function finishAction(
  q: Queryable,
  id: number,
  r: { status: 'succeeded' | 'failed'; at: Date; detail: string | null; agentCommandId: string | null },
): Promise<void> {
  const { rows } = await q.query<{ incident_id: string | number | null; service: string }>(
    `UPDATE incident_actions SET status = $2, finished_at = $3, detail = $4, agent_command_id = $5
     WHERE id = $1 RETURNING incident_id, service`,
    [id, r.status, r.at.toISOString(), r.detail, r.agentCommandId],
  );
  const row = rows[0];
  if (row && row.incident_id !== null) {
    await insertIncidentEvents(q, [
      {
        incidentId: Number(row.incident_id),
        ts: r.at.toISOString(),
        kind: 'action',
        severity: null,
        value: null,
        actor: 'collector',
        detail: `restart ${row.service}: ${r.status}${r.detail ? ` (${r.detail})` : ''}`,
      },
    ]);
  }
}
