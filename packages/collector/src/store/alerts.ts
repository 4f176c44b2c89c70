import type { MetricName } from '../alerts/rules';
import type { AgentSamples, AlertState, NotifiedMark, ServiceSample } from '../alerts/types';
import type { Queryable } from './db';

// pg_advisory_xact_lock key: evaluations, and the automated responses that
// change alert state, run one at a time across every collector.
export const ALERTS_LOCK = '7277461224';

export async function lockAlerts(q: Queryable): Promise<void> {
  await q.query('SELECT pg_advisory_xact_lock($1::bigint)', [ALERTS_LOCK]);
}

const iso = (d: Date | string | null | undefined) => (d === null || d === undefined ? null : new Date(d).toISOString());
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

interface DbAgentSampleRow {
  id: string;
  last_poll_ok: boolean | null;
  last_poll_at: Date | null;
  last_poll_error: string | null;
  m_ts: Date | null;
  cpu_usage: number | null;
  memory_usage: number | null;
  disk_usage: number | null;
  load_average_1m: number | null;
  load_average_5m: number | null;
  load_average_15m: number | null;
  temperature: number | null;
  s_reported_at: Date | null;
}

/**
 * What the evaluator needs about each agent: its latest poll outcome, latest
 * metrics, and the latest sample of each named service. Index lookups only
 * (LATERAL … LIMIT 1 per agent and per agent × service), so the cost follows
 * the number of agents, not the length of history.
 */
export async function selectAgentSamples(q: Queryable, agentIds: readonly string[], serviceNames: readonly string[]): Promise<AgentSamples[]> {
  if (agentIds.length === 0) return [];
  const { rows } = await q.query<DbAgentSampleRow>(
    `SELECT a.id, a.last_poll_ok, a.last_poll_at, a.last_poll_error,
            m.ts AS m_ts, m.cpu_usage, m.memory_usage, m.disk_usage,
            m.load_average_1m, m.load_average_5m, m.load_average_15m, m.temperature,
            s.ts AS s_reported_at
     FROM unnest($1::text[]) AS u(id)
     JOIN agents a ON a.id = u.id
     LEFT JOIN LATERAL (
       SELECT * FROM agent_metrics WHERE agent_id = a.id ORDER BY ts DESC LIMIT 1
     ) m ON true
     LEFT JOIN LATERAL (
       SELECT ts FROM service_status WHERE agent_id = a.id ORDER BY ts DESC LIMIT 1
     ) s ON true`,
    [agentIds],
  );
  const services = new Map<string, Record<string, ServiceSample>>();
  if (serviceNames.length > 0) {
    const { rows: svc } = await q.query<{ agent_id: string; service_name: string; ts: Date; status: ServiceSample['status'] }>(
      `SELECT u.agent_id, l.service_name, l.ts, l.status
       FROM unnest($1::text[]) AS u(agent_id)
       CROSS JOIN unnest($2::text[]) AS n(name)
       JOIN LATERAL (
         SELECT service_name, ts, status FROM service_status
         WHERE agent_id = u.agent_id AND service_name = n.name
         ORDER BY ts DESC LIMIT 1
       ) l ON true`,
      [agentIds, serviceNames],
    );
    for (const r of svc) {
      let byName = services.get(r.agent_id);
      if (!byName) services.set(r.agent_id, (byName = {}));
      byName[r.service_name] = { ts: iso(r.ts)!, status: r.status };
    }
  }
  return rows.map((r) => ({
    agentId: r.id,
    reachable: r.last_poll_ok,
    lastPollAt: iso(r.last_poll_at),
    lastPollError: r.last_poll_error,
    metrics:
      r.m_ts === null
        ? null
        : {
            ts: iso(r.m_ts)!,
            values: {
              cpu_usage: num(r.cpu_usage),
              memory_usage: num(r.memory_usage),
              disk_usage: num(r.disk_usage),
              load_1m: num(r.load_average_1m),
              load_5m: num(r.load_average_5m),
              load_15m: num(r.load_average_15m),
              temperature: num(r.temperature),
            } satisfies Record<MetricName, number | null>,
          },
    servicesReportedAt: iso(r.s_reported_at),
    services: services.get(r.id) ?? {},
  }));
}

export interface DbAlertState {
  alert_key: string;
  rule: string;
  agent_id: string;
  subject: string | null;
  status: AlertState['status'];
  severity: AlertState['severity'];
  flapping: boolean;
  escalated: boolean;
  value: number | null;
  detail: string | null;
  active_at: Date | null;
  firing_at: Date | null;
  incident_id: string | number | null;
  machine: Machine;
  updated_at: Date;
}

/** The part of AlertState that only the evaluator reads. */
interface Machine {
  priorStatus: AlertState['priorStatus'];
  keptFiringSince: string | null;
  criticalSince: string | null;
  lastSampleAt: string | null;
  history: string;
  notified: NotifiedMark | null;
  incidentOpen: boolean;
  peakValue: number | null;
  peakSeverity: AlertState['severity'];
  flapCount: number;
}

export interface StoredAlertState extends AlertState {
  readonly incidentId: number | null;
}

function toState(r: DbAlertState & { acknowledged: boolean }): StoredAlertState {
  const m = r.machine;
  return {
    key: r.alert_key,
    rule: r.rule,
    agentId: r.agent_id,
    subject: r.subject,
    status: r.status,
    priorStatus: m.priorStatus ?? null,
    severity: r.severity,
    value: num(r.value),
    detail: r.detail,
    activeAt: iso(r.active_at),
    firingAt: iso(r.firing_at),
    keptFiringSince: m.keptFiringSince ?? null,
    criticalSince: m.criticalSince ?? null,
    lastSampleAt: m.lastSampleAt ?? null,
    history: m.history ?? '',
    flapping: r.flapping,
    escalated: r.escalated,
    acknowledged: Boolean(r.acknowledged),
    notified: m.notified ?? null,
    incidentOpen: Boolean(m.incidentOpen),
    peakValue: m.peakValue ?? null,
    peakSeverity: m.peakSeverity ?? null,
    flapCount: m.flapCount ?? 0,
    incidentId: r.incident_id === null ? null : Number(r.incident_id),
  };
}

/** Every stored alert state, with whether its open incident was acknowledged. */
export async function selectAlertStates(q: Queryable): Promise<Map<string, StoredAlertState>> {
  const { rows } = await q.query<DbAlertState & { acknowledged: boolean }>(
    `SELECT s.*, (i.acknowledged_at IS NOT NULL) AS acknowledged
     FROM alert_states s LEFT JOIN incidents i ON i.id = s.incident_id`,
  );
  return new Map(rows.map((r) => [r.alert_key, toState(r)]));
}

/** Upserts states in one statement; incidentIds gives each state's open incident (or null). */
export async function upsertAlertStates(
  q: Queryable,
  states: readonly AlertState[],
  incidentIds: ReadonlyMap<string, number | null>,
  now: Date,
): Promise<void> {
  if (states.length === 0) return;
  const machine = (s: AlertState): Machine => ({
    priorStatus: s.priorStatus,
    keptFiringSince: s.keptFiringSince,
    criticalSince: s.criticalSince,
    lastSampleAt: s.lastSampleAt,
    history: s.history,
    notified: s.notified,
    incidentOpen: s.incidentOpen,
    peakValue: s.peakValue,
    peakSeverity: s.peakSeverity,
    flapCount: s.flapCount,
  });
  await q.query(
    `INSERT INTO alert_states (alert_key, rule, agent_id, subject, status, severity, flapping, escalated, value, detail,
                               active_at, firing_at, incident_id, machine, updated_at)
     SELECT k, r, a, sub, st, sev, fl, esc, v, d, act, fir, inc, m, $15::timestamptz
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[], $8::boolean[],
                 $9::float8[], $10::text[], $11::timestamptz[], $12::timestamptz[], $13::bigint[], $14::jsonb[])
       AS u(k, r, a, sub, st, sev, fl, esc, v, d, act, fir, inc, m)
     ON CONFLICT (alert_key) DO UPDATE SET
       status = EXCLUDED.status, severity = EXCLUDED.severity, flapping = EXCLUDED.flapping,
       escalated = EXCLUDED.escalated, value = EXCLUDED.value, detail = EXCLUDED.detail,
       active_at = EXCLUDED.active_at, firing_at = EXCLUDED.firing_at, incident_id = EXCLUDED.incident_id,
       machine = EXCLUDED.machine, updated_at = EXCLUDED.updated_at`,
    [
      states.map((s) => s.key),
      states.map((s) => s.rule),
      states.map((s) => s.agentId),
      states.map((s) => s.subject),
      states.map((s) => s.status),
      states.map((s) => s.severity),
      states.map((s) => s.flapping),
      states.map((s) => s.escalated),
      states.map((s) => s.value),
      states.map((s) => s.detail),
      states.map((s) => s.activeAt),
      states.map((s) => s.firingAt),
      states.map((s) => incidentIds.get(s.key) ?? null),
      states.map((s) => JSON.stringify(machine(s))),
      now.toISOString(),
    ],
  );
}

export async function deleteAlertStates(q: Queryable, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await q.query('DELETE FROM alert_states WHERE alert_key = ANY($1::text[])', [keys]);
}

/** Marks an alert escalated (automated response failed); the next evaluation raises it to critical. */
export async function markAlertEscalated(q: Queryable, key: string): Promise<boolean> {
  const { rows } = await q.query(`UPDATE alert_states SET escalated = true WHERE alert_key = $1 AND status IN ('firing', 'unknown') RETURNING 1`, [key]);
  return rows.length === 1;
}

export interface AlertFilters {
  agentId?: string;
  rule?: string;
  /** firing, pending, unknown, flapping, or all (inactive rows included). Default: everything not inactive. */
  state?: 'firing' | 'pending' | 'unknown' | 'flapping' | 'all';
}

export interface AlertSummary {
  key: string;
  rule: string;
  agent_id: string;
  subject: string | null;
  state: 'inactive' | 'pending' | 'firing' | 'unknown' | 'flapping';
  status: AlertState['status'];
  severity: AlertState['severity'];
  flapping: boolean;
  escalated: boolean;
  value: number | null;
  detail: string | null;
  active_since: string | null;
  firing_since: string | null;
  incident_id: number | null;
  acknowledged: boolean;
  updated_at: string;
}

export async function listAlerts(q: Queryable, f: AlertFilters = {}): Promise<AlertSummary[]> {
  const { rows } = await q.query<DbAlertState & { acknowledged: boolean }>(
    `SELECT s.*, (i.acknowledged_at IS NOT NULL) AS acknowledged
     FROM alert_states s LEFT JOIN incidents i ON i.id = s.incident_id
     WHERE ($1::text IS NULL OR s.agent_id = $1)
       AND ($2::text IS NULL OR s.rule = $2)
       AND CASE $3::text
             WHEN 'all' THEN true
             WHEN 'flapping' THEN s.flapping
             WHEN 'firing' THEN s.status = 'firing' AND NOT s.flapping
             WHEN 'pending' THEN s.status = 'pending' AND NOT s.flapping
             WHEN 'unknown' THEN s.status = 'unknown'
             ELSE s.status <> 'inactive' OR s.flapping
           END
     ORDER BY CASE s.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, s.agent_id, s.alert_key`,
    [f.agentId ?? null, f.rule ?? null, f.state ?? null],
  );
  return rows.map((r) => ({
    key: r.alert_key,
    rule: r.rule,
    agent_id: r.agent_id,
    subject: r.subject,
    state: r.flapping && r.status !== 'unknown' ? 'flapping' : r.status,
    status: r.status,
    severity: r.severity,
    flapping: r.flapping,
    escalated: r.escalated,
    value: num(r.value),
    detail: r.detail,
    active_since: iso(r.active_at),
    firing_since: iso(r.firing_at),
    incident_id: r.incident_id === null ? null : Number(r.incident_id),
    acknowledged: Boolean(r.acknowledged),
    updated_at: iso(r.updated_at)!,
  }));
}
