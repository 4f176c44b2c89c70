import type { AlertNotification } from '../alerts/types';
import type { OutboxItem } from '../store/notifications';
import type { GroupLabel, NotifyConfig, Receiver } from './receivers';

/** An alert as it travels through the outbox. */
export interface OutboxAlert extends AlertNotification {
  readonly incidentId: number | null;
}

export function receiverWants(r: Receiver, a: OutboxAlert): boolean {
  if (a.status === 'resolved' && !r.sendResolved) return false;
  if (r.severities && !r.severities.includes(a.severity)) return false;
  if (r.rules && !r.rules.includes(a.rule)) return false;
  if (r.agents && !r.agents.includes(a.agentId)) return false;
  return true;
}

const labelValue = (a: OutboxAlert, l: GroupLabel): string =>
  l === 'rule' ? a.rule : l === 'severity' ? a.severity : l === 'agent' ? a.agentId : l === 'status' ? a.status : (a.subject ?? '');

export function groupKeyOf(groupBy: readonly GroupLabel[], a: OutboxAlert): string {
  return groupBy.length === 0 ? 'all' : groupBy.map((l) => `${l}=${labelValue(a, l)}`).join(',');
}

/**
 * Pure: one outbox item per receiver × group. With group_by ["rule"], fifty
 * agents going down in one evaluation become one message per receiver.
 */
export function groupNotifications(cfg: NotifyConfig, alerts: readonly OutboxAlert[], now: Date): OutboxItem[] {
  const items = new Map<string, { receiver: string; groupKey: string; alerts: OutboxAlert[] }>();
  for (const a of alerts) {
    for (const r of cfg.receivers) {
      if (!receiverWants(r, a)) continue;
      const groupKey = groupKeyOf(cfg.groupBy, a);
      const id = `${r.name}\u0000${groupKey}`;
      let item = items.get(id);
      if (!item) items.set(id, (item = { receiver: r.name, groupKey, alerts: [] }));
      item.alerts.push(a);
    }
  }
  const deliverAfter = new Date(now.getTime() + cfg.groupWaitMs);
  return [...items.values()].map((i) => ({ ...i, deliverAfter, createdAt: now }));
}

/**
 * Deduplicates a message's alerts: an alert that changed twice while the
 * message waited (firing, then resolved) is sent once, as its latest state.
 */
export function latestPerAlert(alerts: readonly OutboxAlert[]): OutboxAlert[] {
  const byKey = new Map<string, OutboxAlert>();
  for (const a of alerts) {
    const prev = byKey.get(a.key);
    if (!prev || Date.parse(a.at) >= Date.parse(prev.at)) byKey.set(a.key, a);
  }
  return [...byKey.values()].sort((x, y) => (x.status === y.status ? x.key.localeCompare(y.key) : x.status === 'firing' ? -1 : 1));
}
