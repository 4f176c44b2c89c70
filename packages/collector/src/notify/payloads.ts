import { latestPerAlert, type OutboxAlert } from './group';
import type { NotifyConfig, Receiver } from './receivers';

export interface Message {
  id: number;
  groupKey: string;
  alerts: readonly OutboxAlert[];
  attempt: number;
}

export interface HttpRequest {
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

const incidentUrl = (cfg: NotifyConfig, a: OutboxAlert) =>
  cfg.externalUrl && a.incidentId !== null ? `${cfg.externalUrl}/api/v1/incidents/${a.incidentId}` : null;

function groupLabels(groupKey: string): Record<string, string> {
  if (groupKey === 'all') return {};
  return Object.fromEntries(
    groupKey.split(',').map((kv) => {
      const eq = kv.indexOf('=');
      return [kv.slice(0, eq), kv.slice(eq + 1)];
    }),
  );
}

/** Generic JSON: close to Alertmanager's webhook format, with our field names. */
function webhookBody(r: Receiver, cfg: NotifyConfig, m: Message, all: OutboxAlert[], alerts: OutboxAlert[]) {
  const firing = all.filter((a) => a.status === 'firing').length;
  const more = all.length - alerts.length;
  return {
    version: '1',
    source: 'viworks-collector',
    receiver: r.name,
    notification_id: m.id,
    attempt: m.attempt,
    group_key: m.groupKey,
    group_labels: groupLabels(m.groupKey),
    status: firing > 0 ? 'firing' : 'resolved',
    counts: { firing, resolved: all.length - firing, not_listed: more },
    alerts: alerts.map((a) => ({
      key: a.key,
      status: a.status,
      rule: a.rule,
      agent_id: a.agentId,
      subject: a.subject,
      severity: a.severity,
      value: a.value,
      detail: a.detail,
      summary: a.summary,
      flapping: a.flapping,
      escalated: a.escalated,
      repeat: a.repeat,
      incident_id: a.incidentId,
      incident_url: incidentUrl(cfg, a),
      starts_at: a.startsAt,
      ends_at: a.endsAt,
    })),
  };
}

const ICON = { firing: { critical: ':red_circle:', warning: ':large_orange_circle:' }, resolved: ':large_green_circle:' } as const;

/** Slack incoming-webhook shape (`text` + attachments), also accepted by Mattermost and Rocket.Chat. */
function slackBody(cfg: NotifyConfig, m: Message, all: OutboxAlert[], alerts: OutboxAlert[]) {
  const firing = all.filter((a) => a.status === 'firing');
  const resolved = all.filter((a) => a.status === 'resolved');
  const more = all.length - alerts.length;
  const labels = Object.entries(groupLabels(m.groupKey))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const head = firing.length
    ? `[FIRING:${firing.length}${resolved.length ? ` RESOLVED:${resolved.length}` : ''}] ${labels}`
    : `[RESOLVED:${resolved.length}] ${labels}`;
  const line = (a: OutboxAlert) => {
    const icon = a.status === 'firing' ? ICON.firing[a.severity] : ICON.resolved;
    const tags = [a.flapping ? 'flapping' : null, a.escalated ? 'escalated' : null, a.repeat ? 'reminder' : null].filter(Boolean);
    const url = incidentUrl(cfg, a);
    return `${icon} *${a.severity}* ${a.summary}${tags.length ? ` _(${tags.join(', ')})_` : ''}${url ? ` <${url}|incident ${a.incidentId}>` : ''}`;
  };
  const critical = firing.some((a) => a.severity === 'critical');
  return {
    text: head.trim(),
    attachments: [
      {
        color: firing.length === 0 ? 'good' : critical ? 'danger' : 'warning',
        text: [...alerts.map(line), ...(more > 0 ? [`…and ${more} more`] : [])].join('\n'),
        footer: 'viworks-collector',
        mrkdwn_in: ['text'],
      },
    ],
  };
}

/**
 * Alertmanager's `POST /api/v2/alerts` body. Alertmanager resolves an alert
 * whose endsAt has passed, so a firing alert is given an endsAt two repeat
 * intervals ahead: our repeat keeps it alive, a dead collector lets it lapse.
 */
function alertmanagerBody(cfg: NotifyConfig, m: Message, alerts: OutboxAlert[], now: Date) {
  return alerts.map((a) => {
    const labels: Record<string, string> = { alertname: a.rule, agent_id: a.agentId, instance: a.agentId, severity: a.severity, source: 'viworks' };
    if (a.subject) labels.service = a.subject;
    const annotations: Record<string, string> = { summary: a.summary };
    if (a.value !== null) annotations.value = String(a.value);
    if (a.detail) annotations.detail = a.detail;
    if (a.incidentId !== null) annotations.incident_id = String(a.incidentId);
    if (a.flapping) annotations.flapping = 'true';
    if (a.escalated) annotations.escalated = 'true';
    const url = incidentUrl(cfg, a);
    return {
      labels,
      annotations,
      startsAt: a.startsAt,
      endsAt: a.status === 'resolved' ? (a.endsAt ?? now.toISOString()) : new Date(now.getTime() + 2 * a.repeatIntervalMs).toISOString(),
      ...(url ? { generatorURL: url } : {}),
    };
  });
}

/** Builds the HTTP request for one message to one receiver. Pure. */
export function buildRequest(r: Receiver, cfg: NotifyConfig, m: Message, now: Date): HttpRequest {
  const all = latestPerAlert(m.alerts);
  // Alertmanager gets every alert: it groups and truncates itself.
  const listed = r.type === 'alertmanager' ? all : all.slice(0, cfg.maxAlertsPerMessage);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'viworks-collector',
    // The same id on every attempt: a receiver that got a message whose answer we lost can drop the repeat.
    'idempotency-key': `viworks-notification-${m.id}`,
    ...r.headers,
  };
  if (r.type === 'slack') return { url: r.url, headers, body: slackBody(cfg, m, all, listed) };
  if (r.type === 'alertmanager') {
    const url = /\/api\/v2\/alerts$/.test(r.url) ? r.url : `${r.url}/api/v2/alerts`;
    return { url, headers, body: alertmanagerBody(cfg, m, listed, now) };
  }
  return { url: r.url, headers, body: webhookBody(r, cfg, m, all, listed) };
}
