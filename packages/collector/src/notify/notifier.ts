import pMap from 'p-map';
import type { Logger } from 'pino';
import type { Db } from '../store/db';
import { insertIncidentEvents } from '../store/incidents';
import { claimDueNotifications, finishNotification, nextNotificationDue, type ClaimedNotification } from '../store/notifications';
import { afterFailure } from './backoff';
import type { OutboxAlert } from './group';
import { buildRequest } from './payloads';
import type { NotifyConfig } from './receivers';
import { postJson, type SendResult } from './send';

export interface DispatchResult {
  sent: number;
  retrying: number;
  failed: number;
}

export interface Notifier {
  /** Sends everything due now; resolves when done. */
  dispatch(): Promise<DispatchResult>;
  /** Asks for a dispatch soon (coalesced: never two at once). */
  kick(): void;
  /** Resolves when no dispatch is running or asked for. */
  idle(): Promise<void>;
  /** Also polls the outbox every pollIntervalMs (messages queued by another collector, leases that ran out). */
  start(): void;
  stop(): Promise<void>;
}

export interface NotifierDeps {
  db: Db;
  config: NotifyConfig;
  logger: Logger;
  now?: () => Date;
  send?: (req: Parameters<typeof postJson>[0], timeoutMs: number) => Promise<SendResult>;
  pollIntervalMs?: number;
}

const BATCH = 50;
const CONCURRENCY = 8;

export function createNotifier(deps: NotifierDeps): Notifier {
  const { db, config, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const send = deps.send ?? postJson;
  const pollIntervalMs = deps.pollIntervalMs ?? 5000;
  const receivers = new Map(config.receivers.map((r) => [r.name, r]));
  // A lease longer than one send can take, so a live sender never loses its message.
  const leaseMs = config.timeoutMs * 2 + 5000;
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  let wakeTimer: NodeJS.Timeout | null = null;
  let pollTimer: NodeJS.Timeout | null = null;

  async function deliver(n: ClaimedNotification): Promise<keyof DispatchResult> {
    const receiver = receivers.get(n.receiver);
    if (!receiver) {
      await finishNotification(db, n.id, { status: 'failed', error: `receiver "${n.receiver}" is no longer configured` });
      return 'failed';
    }
    const alerts = n.alerts as OutboxAlert[];
    const at = now();
    const req = buildRequest(receiver, config, { id: n.id, groupKey: n.groupKey, alerts, attempt: n.attempt }, at);
    const result = await send(req, config.timeoutMs);
    const done = now();
    if (result.ok) {
      await db.transaction(async (q) => {
        await finishNotification(q, n.id, { status: 'sent', at: done });
        const incidents = [...new Set(alerts.filter((a) => a.incidentId !== null).map((a) => `${a.incidentId}\u0000${a.status}`))];
        await insertIncidentEvents(
          q,
          incidents.map((k) => {
            const [id, status] = k.split('\u0000');
            return { incidentId: Number(id), ts: done.toISOString(), kind: 'notified', severity: null, value: null, actor: receiver.name, detail: `${status} sent to ${receiver.name} (${receiver.type})` };
          }),
        );
      });
      logger.info({ receiver: receiver.name, notification: n.id, alerts: alerts.length, attempt: n.attempt }, 'notification sent');
      return 'sent';
    }
    const next = afterFailure(n.attempt, result.retryable, done, config.retry);
    if ('giveUp' in next) {
      await finishNotification(db, n.id, { status: 'failed', error: result.error });
      logger.error({ receiver: receiver.name, notification: n.id, attempt: n.attempt, error: result.error }, 'notification failed: giving up');
      return 'failed';
    }
    await finishNotification(db, n.id, { status: 'retrying', error: result.error, nextAt: next.retryAt });
    logger.warn({ receiver: receiver.name, notification: n.id, attempt: n.attempt, error: result.error, retryAt: next.retryAt }, 'notification failed: will retry');
    return 'retrying';
  }

  async function dispatch(): Promise<DispatchResult> {
    const result: DispatchResult = { sent: 0, retrying: 0, failed: 0 };
    for (;;) {
      const batch = await claimDueNotifications(db, now(), leaseMs, BATCH);
      if (batch.length === 0) break;
      const outcomes = await pMap(batch, deliver, { concurrency: CONCURRENCY });
      for (const o of outcomes) result[o] += 1;
      if (batch.length < BATCH) break;
    }
    return result;
  }

  async function armWakeUp(): Promise<void> {
    if (stopped) return;
    const due = await nextNotificationDue(db);
    if (wakeTimer) clearTimeout(wakeTimer);
    wakeTimer = null;
    if (!due || stopped) return;
    const delay = Math.min(Math.max(due.getTime() - now().getTime(), 10), pollIntervalMs);
    wakeTimer = setTimeout(() => {
      wakeTimer = null;
      kick();
    }, delay);
    wakeTimer.unref();
  }

  function kick(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await dispatch();
        } catch (err) {
          logger.error({ err }, 'notification dispatch failed');
        }
      } while (again && !stopped);
      await armWakeUp().catch((err) => logger.error({ err }, 'notification wake-up failed'));
    })().finally(() => {
      running = null;
    });
  }

  return {
    dispatch,
    kick,
    async idle() {
      while (running) await running;
    },
    start() {
      if (pollTimer || stopped) return;
      pollTimer = setInterval(kick, pollIntervalMs);
      pollTimer.unref();
      kick();
    },
    async stop() {
      stopped = true;
      if (pollTimer) clearInterval(pollTimer);
      if (wakeTimer) clearTimeout(wakeTimer);
      pollTimer = wakeTimer = null;
      while (running) await running;
    },
  };
}
