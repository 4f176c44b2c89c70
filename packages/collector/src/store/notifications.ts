import type { Queryable } from './db';

const iso = (d: Date | string | null | undefined) => (d === null || d === undefined ? null : new Date(d).toISOString());

export interface OutboxItem {
  receiver: string;
  groupKey: string;
  /** JSON-serialisable alerts; merged into a queued message of the same group. */
  alerts: readonly unknown[];
  deliverAfter: Date;
  createdAt: Date;
}

/**
 * Queues messages. A group that already has a queued (not yet attempted)
 * message gets the new alerts appended to it: that is how alerts arriving
 * within group_wait end up in one message. Items must be unique per
 * (receiver, groupKey), as one statement cannot update a row twice.
 */
export async function enqueueNotifications(q: Queryable, items: readonly OutboxItem[]): Promise<void> {
  if (items.length === 0) return;
  await q.query(
    `INSERT INTO notifications (receiver, group_key, status, alerts, created_at, deliver_after)
     SELECT r, g, 'queued', a, c, d
     FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::timestamptz[], $5::timestamptz[]) AS u(r, g, a, c, d)
     ON CONFLICT (receiver, group_key) WHERE status = 'queued'
     DO UPDATE SET alerts = notifications.alerts || EXCLUDED.alerts`,
    [
      items.map((i) => i.receiver),
      items.map((i) => i.groupKey),
      items.map((i) => JSON.stringify(i.alerts)),
      items.map((i) => i.createdAt.toISOString()),
      items.map((i) => i.deliverAfter.toISOString()),
    ],
  );
}

export interface DbNotification {
  id: string | number;
  receiver: string;
  group_key: string;
  status: 'queued' | 'sending' | 'retrying' | 'sent' | 'failed';
  alerts: unknown[];
  created_at: Date;
  deliver_after: Date;
  attempts: number;
  last_error: string | null;
  sent_at: Date | null;
}

export interface ClaimedNotification {
  id: number;
  receiver: string;
  groupKey: string;
  alerts: unknown[];
  /** This attempt's number, from 1. */
  attempt: number;
  createdAt: string;
}

/**
 * Claims due messages for sending (SKIP LOCKED: collectors never send the
 * same message at once). The claim is a lease: a message whose sender died
 * becomes due again at `now + leaseMs`.
 */
export async function claimDueNotifications(q: Queryable, now: Date, leaseMs: number, limit: number): Promise<ClaimedNotification[]> {
  const { rows } = await q.query<DbNotification>(
    `UPDATE notifications SET status = 'sending', attempts = attempts + 1, deliver_after = $2::timestamptz + make_interval(secs => $3)
     WHERE id IN (
       SELECT id FROM notifications
       WHERE status IN ('queued', 'sending', 'retrying') AND deliver_after <= $1
       ORDER BY deliver_after, id
       LIMIT $4
       FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [now.toISOString(), now.toISOString(), leaseMs / 1000, limit],
  );
  return rows
    .map((r) => ({ id: Number(r.id), receiver: r.receiver, groupKey: r.group_key, alerts: r.alerts, attempt: Number(r.attempts), createdAt: iso(r.created_at)! }))
    .sort((a, b) => a.id - b.id);
}

export type SendOutcome = { status: 'sent'; at: Date } | { status: 'retrying'; error: string; nextAt: Date } | { status: 'failed'; error: string };

export async function finishNotification(q: Queryable, id: number, o: SendOutcome): Promise<void> {
  if (o.status === 'sent') {
    await q.query(`UPDATE notifications SET status = 'sent', sent_at = $2, last_error = NULL WHERE id = $1`, [id, o.at.toISOString()]);
  } else if (o.status === 'retrying') {
    await q.query(`UPDATE notifications SET status = 'retrying', deliver_after = $2, last_error = $3 WHERE id = $1`, [id, o.nextAt.toISOString(), o.error]);
  } else {
    await q.query(`UPDATE notifications SET status = 'failed', last_error = $2 WHERE id = $1`, [id, o.error]);
  }
}

/** When the next message falls due, if any is waiting. */
export async function nextNotificationDue(q: Queryable): Promise<Date | null> {
  const { rows } = await q.query<{ at: Date | null }>(
    `SELECT min(deliver_after) AS at FROM notifications WHERE status IN ('queued', 'sending', 'retrying')`,
  );
  return rows[0]?.at ? new Date(rows[0].at) : null;
}

export interface NotificationSummary {
  id: number;
  receiver: string;
  group_key: string;
  status: DbNotification['status'];
  alerts: number;
  attempts: number;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
}

export async function listNotifications(q: Queryable, limit: number): Promise<NotificationSummary[]> {
  const { rows } = await q.query<DbNotification>('SELECT * FROM notifications ORDER BY id DESC LIMIT $1', [limit]);
  return rows.map((r) => ({
    id: Number(r.id),
    receiver: r.receiver,
    group_key: r.group_key,
    status: r.status,
    alerts: Array.isArray(r.alerts) ? r.alerts.length : 0,
    attempts: Number(r.attempts),
    last_error: r.last_error,
    created_at: iso(r.created_at)!,
    sent_at: iso(r.sent_at),
  }));
}
