import type { MetricName, Severity } from './rules';

/** A level a rule sees in one sample. */
export type Level = 'ok' | Severity;

/**
 * Where an alert is in its life. `unknown`: it was pending or firing and its
 * agent cannot be polled, so nobody can say whether it still holds; it is
 * never resolved from there. Flapping is a flag on top (see AlertState.flapping).
 */
export type AlertStatus = 'inactive' | 'pending' | 'firing' | 'unknown';

export interface NotifiedMark {
  readonly status: 'firing' | 'flapping' | 'resolved';
  readonly severity: Severity | null;
  readonly escalated: boolean;
  readonly at: string;
}

/** One alert instance's memory between evaluations (a row of alert_states). */
export interface AlertState {
  readonly key: string;
  readonly rule: string;
  readonly agentId: string;
  /** The service name for service rules, null otherwise. */
  readonly subject: string | null;
  readonly status: AlertStatus;
  /** What `unknown` hides: restored when the agent answers again. */
  readonly priorStatus: 'pending' | 'firing' | null;
  readonly severity: Severity | null;
  readonly value: number | null;
  /** The service state or the agent's poll error, for people and for automated responses. */
  readonly detail: string | null;
  /** When the condition started holding (for `for`). */
  readonly activeAt: string | null;
  readonly firingAt: string | null;
  /** When the condition of a firing alert stopped holding (for keep_firing_for). */
  readonly keptFiringSince: string | null;
  /** When the level reached critical (escalation waits `for` too). */
  readonly criticalSince: string | null;
  /** Time of the last sample counted in history: the same sample is never counted twice. */
  readonly lastSampleAt: string | null;
  /** Levels of the last evaluations with a new sample, oldest first: o(k), w(arning), c(ritical). */
  readonly history: string;
  readonly flapping: boolean;
  /** Set by automated responses when a restart did not bring the service back. */
  readonly escalated: boolean;
  /** Its open incident was acknowledged: repeats stop. */
  readonly acknowledged: boolean;
  readonly notified: NotifiedMark | null;
  readonly incidentOpen: boolean;
  readonly peakValue: number | null;
  readonly peakSeverity: Severity | null;
  /** Level changes while the incident is open (not the one that resolves it). */
  readonly flapCount: number;
}

export interface MetricSample {
  readonly ts: string;
  readonly values: Readonly<Record<MetricName, number | null>>;
}

export interface ServiceSample {
  readonly ts: string;
  readonly status: 'running' | 'stopped' | 'error';
}

/** What the store knows about one agent, as input to an evaluation. */
export interface AgentSamples {
  readonly agentId: string;
  /** Outcome of its latest poll (any tier); null when never polled. */
  readonly reachable: boolean | null;
  readonly lastPollAt: string | null;
  readonly lastPollError: string | null;
  /** Its latest metrics sample, if any. */
  readonly metrics: MetricSample | null;
  /** Time of its newest service report (the agent's clock). */
  readonly servicesReportedAt: string | null;
  /** Latest sample of each service the rules name that it ever reported. */
  readonly services: Readonly<Record<string, ServiceSample>>;
}

export type AlertEventKind = 'opened' | 'severity_changed' | 'unknown' | 'known' | 'flapping_started' | 'flapping_stopped' | 'resolved';

/** Something that goes into an incident's history. */
export interface AlertEvent {
  readonly key: string;
  readonly kind: AlertEventKind;
  readonly at: string;
  readonly severity: Severity | null;
  readonly value: number | null;
  readonly detail: string | null;
}

/** The incident row's fields after this evaluation. */
export interface IncidentChange {
  readonly key: string;
  readonly op: 'open' | 'update' | 'resolve';
  readonly at: string;
  readonly rule: string;
  readonly agentId: string;
  readonly subject: string | null;
  readonly severity: Severity;
  readonly peakSeverity: Severity;
  readonly peakValue: number | null;
  readonly flapCount: number;
  readonly escalated: boolean;
  readonly summary: string;
}

export interface AlertNotification {
  readonly key: string;
  readonly rule: string;
  readonly agentId: string;
  readonly subject: string | null;
  readonly status: 'firing' | 'resolved';
  readonly severity: Severity;
  readonly value: number | null;
  readonly detail: string | null;
  readonly summary: string;
  readonly flapping: boolean;
  readonly escalated: boolean;
  /** A reminder of an unchanged firing alert (repeat interval). */
  readonly repeat: boolean;
  readonly startsAt: string;
  readonly endsAt: string | null;
  readonly at: string;
  readonly repeatIntervalMs: number;
}

export interface Evaluation {
  /** States that changed and are worth keeping. */
  readonly states: AlertState[];
  /** Keys whose state became trivial (inactive, nothing to remember): delete them. */
  readonly removed: string[];
  readonly events: AlertEvent[];
  readonly incidents: IncidentChange[];
  readonly notifications: AlertNotification[];
}
