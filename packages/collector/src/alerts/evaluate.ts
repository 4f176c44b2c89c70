import { nextFlapping, percentStateChange } from './flapping';
import { rulesForAgent, type AlertRulesConfig, type MetricRule, type Rule, type Severity } from './rules';
import type {
  AgentSamples,
  AlertEvent,
  AlertNotification,
  AlertState,
  Evaluation,
  IncidentChange,
  Level,
} from './types';

type Draft = { -readonly [K in keyof AlertState]: AlertState[K] };

/** What one alert instance sees in this evaluation. */
type Observation =
  | { kind: 'nodata' }
  | {
      kind: 'data';
      sampleAt: string;
      value: number | null;
      detail: string | null;
      /** The level, given the severity it holds now (hysteresis). */
      level: (current: Severity | null) => Level;
    };

interface Instance {
  key: string;
  subject: string | null;
  obs: Observation;
}

const CODE: Record<Level, string> = { ok: 'o', warning: 'w', critical: 'c' };
const RANK: Record<Severity, number> = { warning: 1, critical: 2 };

export const alertKey = (rule: string, agentId: string, subject: string | null = null): string =>
  subject === null ? `${rule}/${agentId}` : `${rule}/${agentId}/${subject}`;

export function emptyState(key: string, rule: string, agentId: string, subject: string | null): AlertState {
  return {
    key,
    rule,
    agentId,
    subject,
    status: 'inactive',
    priorStatus: null,
    severity: null,
    value: null,
    detail: null,
    activeAt: null,
    firingAt: null,
    keptFiringSince: null,
    criticalSince: null,
    lastSampleAt: null,
    history: '',
    flapping: false,
    escalated: false,
    acknowledged: false,
    notified: null,
    incidentOpen: false,
    peakValue: null,
    peakSeverity: null,
    flapCount: 0,
  };
}

/**
 * A metric's level with hysteresis: a level is entered at its threshold and
 * left only once the value is at or below threshold − recovery margin.
 */
export function metricLevel(value: number, rule: Pick<MetricRule, 'warning' | 'critical' | 'recoveryMargin'>, current: Severity | null): Level {
  const { warning: w, critical: c, recoveryMargin: m } = rule;
  if (c !== null && (value >= c || (current === 'critical' && value > c - m))) return 'critical';
  if (w !== null && (value >= w || (current !== null && value > w - m))) return 'warning';
  return 'ok';
}

const maxSeverity = (a: Severity | null, b: Severity | null): Severity | null =>
  a === null ? b : b === null ? a : RANK[a] >= RANK[b] ? a : b;

const historySeverity = (history: string): Severity | null =>
  history.includes('c') ? 'critical' : history.includes('w') ? 'warning' : null;

const fmt = (v: number | null) => (v === null ? 'n/a' : Number.isInteger(v) ? String(v) : v.toFixed(1));

export function describeAlert(rule: Rule, s: Pick<AlertState, 'agentId' | 'subject' | 'value' | 'detail'>, firing: boolean): string {
  if (rule.type === 'metric') {
    const levels = [rule.warning !== null ? `warning at ${rule.warning}` : null, rule.critical !== null ? `critical at ${rule.critical}` : null]
      .filter(Boolean)
      .join(', ');
    return firing
      ? `${rule.metric} on ${s.agentId} is ${fmt(s.value)} (${levels})`
      : `${rule.metric} on ${s.agentId} is back to normal (${fmt(s.value)})`;
  }
  if (rule.type === 'service') {
    return firing ? `service ${s.subject} on ${s.agentId} is ${s.detail ?? 'down'}` : `service ${s.subject} on ${s.agentId} is running again`;
  }
  return firing ? `agent ${s.agentId} does not answer${s.detail ? ` (${s.detail})` : ''}` : `agent ${s.agentId} answers again`;
}

function instancesOf(rule: Rule, agent: AgentSamples, has: (key: string) => boolean): Instance[] {
  const nodata: Observation = { kind: 'nodata' };
  if (rule.type === 'metric') {
    const key = alertKey(rule.name, agent.agentId);
    const value = agent.metrics?.values[rule.metric] ?? null;
    if (agent.reachable === false || agent.metrics === null || value === null) return has(key) ? [{ key, subject: null, obs: nodata }] : [];
    return [
      {
        key,
        subject: null,
        obs: { kind: 'data', sampleAt: agent.metrics.ts, value, detail: null, level: (cur) => metricLevel(value, rule, cur) },
      },
    ];
  }
  if (rule.type === 'agent_down') {
    const key = alertKey(rule.name, agent.agentId);
    if (agent.reachable === null || agent.lastPollAt === null) return has(key) ? [{ key, subject: null, obs: nodata }] : [];
    const down = !agent.reachable;
    return [
      {
        key,
        subject: null,
        obs: {
          kind: 'data',
          sampleAt: agent.lastPollAt,
          value: null,
          detail: down ? agent.lastPollError : null,
          level: () => (down ? rule.severity : 'ok'),
        },
      },
    ];
  }
  const out: Instance[] = [];
  for (const name of rule.services) {
    const key = alertKey(rule.name, agent.agentId, name);
    const sample = agent.services[name];
    // A service the agent never reported is not tracked there: no alert.
    if (!sample || agent.reachable === false) {
      if (has(key)) out.push({ key, subject: name, obs: nodata });
      continue;
    }
    // The agent answers but its newest report leaves this service out.
    const state = agent.servicesReportedAt !== null && Date.parse(sample.ts) < Date.parse(agent.servicesReportedAt) ? 'unresponsive' : sample.status;
    const bad = state !== 'running' && rule.alertOn.includes(state);
    out.push({
      key,
      subject: name,
      obs: {
        kind: 'data',
        sampleAt: agent.servicesReportedAt ?? sample.ts,
        value: null,
        detail: state,
        level: () => (bad ? rule.severity : 'ok'),
      },
    });
  }
  return out;
}

interface StepResult {
  next: AlertState;
  events: AlertEvent[];
  incident: IncidentChange | null;
  notification: AlertNotification | null;
}

function resetToInactive(s: Draft): void {
  s.status = 'inactive';
  s.priorStatus = null;
  s.severity = null;
  s.activeAt = null;
  s.firingAt = null;
  s.keptFiringSince = null;
  s.criticalSince = null;
  s.escalated = false;
}

/** One alert instance, one evaluation. */
function step(rule: Rule, prev: AlertState, obs: Observation | 'orphan', now: Date): StepResult {
  const at = now.toISOString();
  const t = now.getTime();
  const since = (iso: string | null) => (iso === null ? 0 : t - Date.parse(iso));
  const s: Draft = { ...prev };
  const events: AlertEvent[] = [];
  const event = (kind: AlertEvent['kind'], severity: Severity | null = s.severity) =>
    events.push({ key: s.key, kind, at, severity, value: s.value, detail: s.detail });
  const wasFlapping = prev.flapping;
  let levelChanged = false;

  if (obs === 'orphan') {
    // Its rule, agent or service left the config: close it rather than leave it firing forever.
    resetToInactive(s);
    s.flapping = false;
    s.history = '';
    s.detail = 'no longer evaluated';
  } else if (obs.kind === 'nodata') {
    if (s.status === 'pending' || s.status === 'firing') {
      s.priorStatus = s.status;
      s.status = 'unknown';
      if (s.incidentOpen) event('unknown');
    }
    return { next: s, events, incident: incidentChange(rule, prev, s, 'update', at), notification: null };
  } else {
    if (s.status === 'unknown') {
      s.status = s.priorStatus ?? 'inactive';
      s.priorStatus = null;
      if (s.incidentOpen) event('known');
    }
    const before = s.status;
    const level = obs.level(before === 'inactive' ? null : s.severity);
    s.value = obs.value;
    s.detail = obs.detail;

    if (obs.sampleAt !== s.lastSampleAt) {
      const last = s.history.slice(-1);
      const code = CODE[level];
      s.history = (s.history + code).slice(-rule.flapping.window);
      s.lastSampleAt = obs.sampleAt;
      levelChanged = last !== '' && last !== code;
    }
    s.flapping = nextFlapping(wasFlapping, percentStateChange(s.history, rule.flapping.window), rule.flapping);

    if (level !== 'ok') {
      s.keptFiringSince = null;
      if (level === 'critical') s.criticalSince ??= at;
      else s.criticalSince = null;
      if (s.status === 'inactive') {
        s.status = 'pending';
        s.activeAt = at;
      }
      if (s.status === 'pending' && since(s.activeAt) >= rule.forMs) {
        s.status = 'firing';
        s.firingAt = at;
      }
      // A metric reaching critical stays at warning until critical has held for `for` too.
      let severity: Severity =
        rule.type !== 'metric' || level === 'warning' || rule.warning === null || since(s.criticalSince) >= rule.forMs ? level : 'warning';
      if (s.escalated) severity = 'critical';
      const prevSeverity = s.severity;
      s.severity = severity;
      if (before === 'firing' && prevSeverity !== severity && s.incidentOpen) event('severity_changed');
    } else {
      s.criticalSince = null;
      if (s.status === 'pending') resetToInactive(s);
      else if (s.status === 'firing') {
        s.keptFiringSince ??= at;
        if (since(s.keptFiringSince) >= rule.keepFiringForMs) resetToInactive(s);
      }
    }
  }

  // Incidents: opened when the alert fires or starts flapping, closed when it is inactive and settled.
  let op: IncidentChange['op'] = 'update';
  if (!s.incidentOpen && (s.status === 'firing' || (s.flapping && !wasFlapping))) {
    s.incidentOpen = true;
    s.peakValue = s.value;
    s.peakSeverity = s.severity ?? historySeverity(s.history);
    s.flapCount = 0;
    s.acknowledged = false;
    op = 'open';
    event('opened', s.severity ?? s.peakSeverity);
  } else if (s.incidentOpen) {
    if (s.value !== null && (s.peakValue === null || s.value > s.peakValue)) s.peakValue = s.value;
    s.peakSeverity = maxSeverity(s.peakSeverity, s.severity);
    // Level changes inside the incident; the change that ends it is its resolution, not a flap.
    const resolving = s.status === 'inactive' && !s.flapping;
    if (levelChanged && !resolving) s.flapCount += 1;
  }
  if (s.incidentOpen && s.flapping !== wasFlapping) event(s.flapping ? 'flapping_started' : 'flapping_stopped');
  if (s.incidentOpen && s.status === 'inactive' && !s.flapping) {
    event('resolved', prev.severity ?? s.peakSeverity);
    op = 'resolve';
  }
  const incident = incidentChange(rule, prev, s, op, at);
  if (op === 'resolve') {
    s.incidentOpen = false;
    s.acknowledged = false;
  }

  // Notifications: on a change of what people were last told, held while flapping.
  let notification: AlertNotification | null = null;
  const told = s.notified;
  const notify = (status: 'firing' | 'resolved', severity: Severity, repeat: boolean, flapping = s.flapping) => {
    notification = {
      key: s.key,
      rule: s.rule,
      agentId: s.agentId,
      subject: s.subject,
      status,
      severity,
      value: s.value,
      detail: s.detail,
      summary: describeAlert(rule, s, status === 'firing'),
      flapping,
      escalated: s.escalated,
      repeat,
      startsAt: prev.firingAt ?? s.firingAt ?? prev.activeAt ?? s.activeAt ?? at,
      endsAt: status === 'resolved' ? at : null,
      at,
      repeatIntervalMs: rule.repeatIntervalMs,
    };
  };
  if (s.flapping) {
    if (!wasFlapping && (told === null || told.status === 'resolved')) {
      const severity = s.severity ?? historySeverity(s.history) ?? 'warning';
      notify('firing', severity, false, true);
      s.notified = { status: 'flapping', severity, escalated: s.escalated, at };
    }
  } else if (s.status === 'firing') {
    const severity = s.severity!;
    if (told === null || told.status !== 'firing' || told.severity !== severity || told.escalated !== s.escalated) {
      notify('firing', severity, false);
      s.notified = { status: 'firing', severity, escalated: s.escalated, at };
    } else if (!s.acknowledged && t - Date.parse(told.at) >= rule.repeatIntervalMs) {
      notify('firing', severity, true);
      s.notified = { ...told, at };
    }
  } else if (s.status === 'inactive' && told !== null && told.status !== 'resolved') {
    notify('resolved', told.severity ?? 'warning', false);
    s.notified = { status: 'resolved', severity: told.severity, escalated: false, at };
  }

  return { next: s, events, incident, notification };
}

function incidentChange(rule: Rule, prev: AlertState, s: AlertState, op: IncidentChange['op'], at: string): IncidentChange | null {
  if (!s.incidentOpen) return null;
  const severity = s.severity ?? prev.severity ?? s.peakSeverity ?? 'warning';
  const same =
    op === 'update' &&
    prev.incidentOpen &&
    prev.peakValue === s.peakValue &&
    prev.peakSeverity === s.peakSeverity &&
    prev.flapCount === s.flapCount &&
    prev.escalated === s.escalated &&
    (prev.severity ?? null) === (s.severity ?? prev.severity ?? null);
  if (same) return null;
  return {
    key: s.key,
    op,
    at,
    rule: s.rule,
    agentId: s.agentId,
    subject: s.subject,
    severity,
    peakSeverity: s.peakSeverity ?? severity,
    peakValue: s.peakValue,
    flapCount: s.flapCount,
    escalated: s.escalated,
    summary: describeAlert(rule, s, true),
  };
}

/** Nothing worth a row: inactive, settled, nothing notified or open, no level in the flap window. */
export function isTrivial(s: AlertState): boolean {
  return (
    s.status === 'inactive' &&
    !s.flapping &&
    !s.incidentOpen &&
    !/[wc]/.test(s.history) &&
    (s.notified === null || s.notified.status === 'resolved')
  );
}

const sameState = (a: AlertState, b: AlertState) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The alert decision: rules, the latest samples of every agent, the previous
 * states and the time → new states, incident history, notifications. Pure:
 * no I/O, no clock but `now`.
 */
export function evaluate(
  rules: AlertRulesConfig,
  samples: readonly AgentSamples[],
  state: ReadonlyMap<string, AlertState>,
  now: Date,
): Evaluation {
  const out: Evaluation = { states: [], removed: [], events: [], incidents: [], notifications: [] };
  const visited = new Set<string>();
  const apply = (prev: AlertState | undefined, fresh: AlertState, r: StepResult) => {
    out.events.push(...r.events);
    if (r.incident) out.incidents.push(r.incident);
    if (r.notification) out.notifications.push(r.notification);
    if (isTrivial(r.next)) {
      if (prev) out.removed.push(fresh.key);
    } else if (!sameState(prev ?? fresh, r.next) || !prev) {
      out.states.push(r.next);
    }
  };

  const rulesByName = new Map<string, Rule>();
  for (const agent of samples) {
    for (const rule of rulesForAgent(rules, agent.agentId)) {
      rulesByName.set(rule.name, rule);
      for (const inst of instancesOf(rule, agent, (k) => state.has(k))) {
        visited.add(inst.key);
        const prev = state.get(inst.key);
        const base = prev ?? emptyState(inst.key, rule.name, agent.agentId, inst.subject);
        apply(prev, base, step(rule, base, inst.obs, now));
      }
    }
  }

  // States left over from a rule switched off or a service taken out of a rule. Only for agents
  // evaluated here: another collector sharing the database may be the one polling the others.
  const evaluated = new Set(samples.map((a) => a.agentId));
  for (const [key, prev] of state) {
    if (visited.has(key) || !evaluated.has(prev.agentId)) continue;
    const rule = rulesByName.get(prev.rule) ?? rulesForAgent(rules, prev.agentId).find((r) => r.name === prev.rule);
    if (!rule) {
      // The rule is gone or disabled: a fallback rule so the alert can still be closed cleanly.
      const fallback: Rule = {
        name: prev.rule,
        type: 'agent_down',
        severity: prev.severity ?? 'warning',
        enabled: true,
        forMs: 0,
        keepFiringForMs: 0,
        repeatIntervalMs: 3_600_000,
        flapping: { window: 20, high: 50, low: 25 },
      };
      apply(prev, prev, step(fallback, prev, 'orphan', now));
    } else {
      apply(prev, prev, step(rule, prev, 'orphan', now));
    }
  }
  return out;
}
