import type { ActionRecord } from '../store/incidents';
import type { AutoRestartPolicy } from './rules';

export type RestartDecision =
  | { kind: 'none'; why: string }
  /** A restart of this service is still running or being checked. */
  | { kind: 'in_progress' }
  /** Backoff after the previous attempt of this incident. */
  | { kind: 'wait'; until: string }
  | { kind: 'restart'; attempt: number }
  /** The hourly budget is spent; `record` is true the first time in this incident. */
  | { kind: 'budget_exhausted'; used: number; record: boolean };

const HOUR_MS = 3_600_000;

export interface RestartCandidate {
  readonly status: string;
  /** The service state the alert saw: stopped, error, unresponsive. */
  readonly detail: string | null;
  readonly service: string;
  readonly incidentId: number | null;
}

/**
 * Whether to restart a service now. Pure: the actions on this agent × service
 * (any incident) and the time decide. Only a firing alert on a service that is
 * stopped (or in error, if the policy says so) is acted on; the budget counts
 * attempts in the last hour across incidents; within one incident attempts are
 * spaced by a backoff that doubles up to maxBackoff.
 */
export function planRestart(
  policy: AutoRestartPolicy | null,
  c: RestartCandidate,
  actions: readonly ActionRecord[],
  now: Date,
): RestartDecision {
  if (!policy) return { kind: 'none', why: 'no automated restart for this rule' };
  if (policy.services && !policy.services.includes(c.service)) return { kind: 'none', why: 'not listed in auto_restart.services' };
  if (c.status !== 'firing') return { kind: 'none', why: `alert is ${c.status}` };
  if (!c.detail || !(policy.on as readonly string[]).includes(c.detail)) return { kind: 'none', why: `service is ${c.detail ?? 'in an unknown state'}` };

  const t = now.getTime();
  const mine = actions.filter((a) => a.service === c.service);
  // A collector that died mid-restart leaves a 'started' row: it stops blocking after the longest a restart can take.
  const stuckAfter = policy.requestTimeoutMs + policy.verifyTimeoutMs + 60_000;
  if (mine.some((a) => a.status === 'started' && t - Date.parse(a.startedAt) < stuckAfter)) return { kind: 'in_progress' };

  const lastHour = mine.filter((a) => a.status !== 'skipped' && t - Date.parse(a.startedAt) < HOUR_MS);
  if (lastHour.length >= policy.maxPerHour) {
    const recorded = c.incidentId !== null && mine.some((a) => a.status === 'skipped' && a.incidentId === c.incidentId);
    return { kind: 'budget_exhausted', used: lastHour.length, record: !recorded };
  }

  const thisIncident = mine.filter((a) => a.status !== 'skipped' && c.incidentId !== null && a.incidentId === c.incidentId);
  if (thisIncident.length > 0) {
    const last = thisIncident[thisIncident.length - 1]!;
    const wait = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (thisIncident.length - 1));
    const from = Date.parse(last.finishedAt ?? last.startedAt);
    if (t - from < wait) return { kind: 'wait', until: new Date(from + wait).toISOString() };
  }
  return { kind: 'restart', attempt: thisIncident.length + 1 };
}
