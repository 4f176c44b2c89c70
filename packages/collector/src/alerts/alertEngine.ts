import type { Logger } from 'pino';
import type { AgentTarget } from '../config';
import { createNotifier, type Notifier } from '../notify/notifier';
import { groupNotifications, type OutboxAlert } from '../notify/group';
import type { AgentClient } from '../polling/agentClient';
import { serviceRows } from '../polling/toRows';
import { deleteAlertStates, lockAlerts, markAlertEscalated, selectAgentSamples, selectAlertStates, upsertAlertStates } from '../store/alerts';
import type { Db, Queryable } from '../store/db';
import { applyIncidentChanges, finishAction, insertAction, selectRecentActions } from '../store/incidents';
import { claimJobTick } from '../store/jobs';
import { enqueueNotifications } from '../store/notifications';
import { insertServiceStatus } from '../store/services';
import { evaluate } from './evaluate';
import { planRestart } from './planRestart';
import { restartAndVerify } from './restartService';
import { rulesForAgent, type AutoRestartPolicy, type ServiceRule } from './rules';
import type { AlertState } from './types';
import type { AlertingConfig } from './alertingConfig';

export type { AlertingConfig } from './alertingConfig';

export interface EvaluationSummary {
  at: string;
  changed: number;
  events: number;
  notifications: number;
  restarts: number;
}

export interface AlertEngine {
  readonly notifier: Notifier;
  /**
   * One evaluation. With `claim` (the default) it first claims this tick in
   * job_runs under `job`, so with several collectors exactly one evaluates;
   * null when another collector already did.
   */
  evaluate(opts?: { now?: Date; claim?: boolean; job?: string; minIntervalSeconds?: number }): Promise<EvaluationSummary | null>;
  /** Waits for automated responses in flight (and the evaluations they trigger) and for the notifier. */
  idle(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export interface AlertEngineDeps {
  db: Db;
  logger: Logger;
  config: AlertingConfig;
  agents: () => readonly AgentTarget[];
  /** For checking that a restarted service came back. */
  client: AgentClient;
  now?: () => Date;
  /** Default minimum interval between two claimed evaluations of one job. */
  minIntervalSeconds: number;
  notifierPollIntervalMs?: number;
}

interface PlannedRestart {
  actionId: number;
  key: string;
  agent: AgentTarget;
  service: string;
  policy: AutoRestartPolicy;
}

const HOUR_MS = 3_600_000;

export function createAlertEngine(deps: AlertEngineDeps): AlertEngine {
  const { db, logger, config } = deps;
  const now = deps.now ?? (() => new Date());
  const notifier = createNotifier({ db, config: config.notify, logger, now, pollIntervalMs: deps.notifierPollIntervalMs });
  const inFlight = new Set<Promise<void>>();
  const abort = new AbortController();

  const serviceRuleOf = (s: AlertState): ServiceRule | null => {
    const rule = rulesForAgent(config.rules, s.agentId).find((r) => r.name === s.rule);
    return rule?.type === 'service' ? rule : null;
  };

  /** Inside the evaluation's transaction: decides and records restarts; returns those to run. */
  async function planResponses(q: Queryable, states: Map<string, AlertState & { incidentId: number | null }>, at: Date) {
    const byAgent = new Map(deps.agents().map((a) => [a.id, a]));
    const candidates = [...states.values()].filter(
      (s) => s.status === 'firing' && s.subject !== null && byAgent.has(s.agentId) && serviceRuleOf(s)?.autoRestart,
    );
    const toRun: PlannedRestart[] = [];
    let escalated = false;
    if (candidates.length === 0) return { toRun, escalated };
    const actions = await selectRecentActions(
      q,
      candidates.map((s) => ({ agentId: s.agentId, service: s.subject! })),
      new Date(at.getTime() - HOUR_MS - 600_000),
    );
    for (const s of candidates) {
      const policy = serviceRuleOf(s)!.autoRestart!;
      const mine = actions.filter((a) => a.agentId === s.agentId && a.service === s.subject);
      const d = planRestart(policy, { status: s.status, detail: s.detail, service: s.subject!, incidentId: s.incidentId }, mine, at);
      if (d.kind === 'restart') {
        const actionId = await insertAction(q, { incidentId: s.incidentId, alertKey: s.key, agentId: s.agentId, service: s.subject!, status: 'started', at, detail: `attempt ${d.attempt}` });
        toRun.push({ actionId, key: s.key, agent: byAgent.get(s.agentId)!, service: s.subject!, policy });
      } else if (d.kind === 'budget_exhausted' && d.record) {
        await insertAction(q, {
          incidentId: s.incidentId,
          alertKey: s.key,
          agentId: s.agentId,
          service: s.subject!,
          status: 'skipped',
          at,
          detail: `budget exhausted: ${d.used} restarts in the last hour (max ${policy.maxPerHour})`,
        });
        escalated = (await markAlertEscalated(q, s.key)) || escalated;
      }
    }
    return { toRun, escalated };
  }

  async function evaluateOnce(opts: { now?: Date; claim?: boolean; job?: string; minIntervalSeconds?: number } = {}): Promise<EvaluationSummary | null> {
    const at = opts.now ?? now();
    if (opts.claim !== false) {
      const won = await claimJobTick(db, opts.job ?? 'alerts', opts.minIntervalSeconds ?? deps.minIntervalSeconds);
      if (!won) return null;
    }
    const agents = deps.agents();
    const serviceNames = new Set<string>();
    for (const a of agents) {
      for (const r of rulesForAgent(config.rules, a.id)) if (r.type === 'service') r.services.forEach((s) => serviceNames.add(s));
    }

    const result = await db.transaction(async (q) => {
      await lockAlerts(q);
      const samples = await selectAgentSamples(q, agents.map((a) => a.id), [...serviceNames]);
      const prev = await selectAlertStates(q);
      const ev = evaluate(config.rules, samples, prev, at);
      const known = new Map([...prev].map(([k, s]) => [k, s.incidentId]));
      const ids = await applyIncidentChanges(q, ev.incidents, ev.events, known);
      const incidentOf = (s: AlertState) => (s.incidentOpen ? (ids.get(s.key) ?? null) : null);
      await upsertAlertStates(q, ev.states, new Map(ev.states.map((s) => [s.key, incidentOf(s)])), at);
      await deleteAlertStates(q, ev.removed);
      const outbox: OutboxAlert[] = ev.notifications.map((n) => ({ ...n, incidentId: ids.get(n.key) ?? null }));
      // Delivery timing (group_wait) runs on the wall clock even when the evaluation is given a time.
      await enqueueNotifications(q, groupNotifications(config.notify, outbox, now()));

      const current = new Map<string, AlertState & { incidentId: number | null }>();
      for (const [k, s] of prev) current.set(k, s);
      for (const s of ev.states) current.set(s.key, { ...s, incidentId: incidentOf(s) });
      for (const k of ev.removed) current.delete(k);
      const responses = await planResponses(q, current, at);
      return { ev, responses };
    });

    const { ev, responses } = result;
    if (ev.notifications.length > 0) notifier.kick();
    for (const p of responses.toRun) runRestart(p);
    if (ev.events.length || ev.notifications.length) {
      logger.info({ events: ev.events.length, notifications: ev.notifications.length, restarts: responses.toRun.length }, 'alerts evaluated');
    }
    // A spent budget escalated an alert: evaluate again so the escalation is recorded and notified now.
    if (responses.escalated) await evaluateOnce({ claim: false });
    return {
      at: at.toISOString(),
      changed: ev.states.length + ev.removed.length,
      events: ev.events.length,
      notifications: ev.notifications.length,
      restarts: responses.toRun.length,
    };
  }

  function runRestart(p: PlannedRestart): void {
    const task = (async () => {
      logger.info({ agent: p.agent.id, service: p.service, action: p.actionId }, 'automated restart');
      const outcome = await restartAndVerify({ client: deps.client, signal: abort.signal }, p.agent, p.service, p.policy);
      let escalated = false;
      await db.transaction(async (q) => {
        await lockAlerts(q);
        await finishAction(q, p.actionId, { status: outcome.ok ? 'succeeded' : 'failed', at: now(), detail: outcome.detail, agentCommandId: outcome.agentCommandId });
        // The check's status is a real sample from the agent: storing it lets the alert resolve now, not at the next services poll.
        if (outcome.status) await insertServiceStatus(q, serviceRows(p.agent.id, outcome.status));
        if (!outcome.ok && !outcome.aborted) escalated = await markAlertEscalated(q, p.key);
      });
      if (outcome.ok) logger.info({ agent: p.agent.id, service: p.service, detail: outcome.detail }, 'automated restart worked');
      else logger.warn({ agent: p.agent.id, service: p.service, detail: outcome.detail }, 'automated restart did not bring the service back');
      if (!abort.signal.aborted && (outcome.ok || escalated || !outcome.aborted)) await evaluateOnce({ claim: false });
    })()
      .catch((err) => logger.error({ err, agent: p.agent.id, service: p.service }, 'automated restart failed'))
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
  }

  return {
    notifier,
    evaluate: evaluateOnce,
    async idle() {
      do {
        while (inFlight.size > 0) await Promise.all([...inFlight]);
        await notifier.idle();
      } while (inFlight.size > 0);
    },
    start() {
      notifier.start();
    },
    async stop() {
      abort.abort();
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      await notifier.stop();
    },
  };
}
