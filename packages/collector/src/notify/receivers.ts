import { z } from 'zod';
import { durationMs } from '../alerts/duration';
import { SEVERITIES, type Severity } from '../alerts/rules';

/**
 * Where notifications go and how: COLLECTOR_RECEIVERS_FILE. Without the file
 * alerts and incidents are still recorded; nothing is sent.
 */

export const RECEIVER_TYPES = ['webhook', 'slack', 'alertmanager'] as const;
export type ReceiverType = (typeof RECEIVER_TYPES)[number];

export const GROUP_LABELS = ['rule', 'severity', 'agent', 'subject', 'status'] as const;
export type GroupLabel = (typeof GROUP_LABELS)[number];

export interface Receiver {
  readonly name: string;
  readonly type: ReceiverType;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Only alerts of these severities / rules / agents; null = all. */
  readonly severities: readonly Severity[] | null;
  readonly rules: readonly string[] | null;
  readonly agents: readonly string[] | null;
  readonly sendResolved: boolean;
}

export interface NotifyConfig {
  readonly receivers: readonly Receiver[];
  /** Alerts with the same values of these labels travel in one message. */
  readonly groupBy: readonly GroupLabel[];
  /** How long a new group's message waits for more alerts to join it. */
  readonly groupWaitMs: number;
  readonly timeoutMs: number;
  readonly retry: { readonly initialMs: number; readonly maxMs: number; readonly maxAttempts: number };
  /** Listed at most this many alerts in one message; the count says how many more. */
  readonly maxAlertsPerMessage: number;
  /** Base URL of the collector's API, for links in messages. */
  readonly externalUrl: string | null;
}

const ReceiverSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ -'),
  type: z.enum(RECEIVER_TYPES, { error: `must be one of ${RECEIVER_TYPES.join(', ')}` }),
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a header name'), z.string().regex(/^[^\r\n]*$/, 'must not contain line breaks'))
    .default({}),
  severities: z.array(z.enum(SEVERITIES)).min(1).nullable().default(null),
  rules: z.array(z.string().min(1)).min(1).nullable().default(null),
  agents: z.array(z.string().min(1)).min(1).nullable().default(null),
  send_resolved: z.boolean().default(true),
});

const FileSchema = z
  .strictObject({
    receivers: z.array(z.unknown()).default([]),
    group_by: z.array(z.enum(GROUP_LABELS, { error: `must be one of ${GROUP_LABELS.join(', ')}` })).default(['rule']),
    group_wait: durationMs(3_600_000).default(10_000),
    timeout: durationMs(300_000).refine((ms) => ms > 0, 'must be above 0').default(10_000),
    retry: z
      .strictObject({
        initial: durationMs(3_600_000).refine((ms) => ms > 0, 'must be above 0').default(5000),
        max: durationMs(86_400_000).default(300_000),
        max_attempts: z.number().int('must be a whole number').min(1).max(1000).default(12),
      })
      .refine((r) => r.initial <= r.max, { message: 'must not exceed retry.max', path: ['initial'] })
      .default({ initial: 5000, max: 300_000, max_attempts: 12 }),
    max_alerts_per_message: z.number().int().min(1).max(10_000).default(100),
    external_url: z.url({ protocol: /^https?$/ }).nullable().default(null),
  });

function issueText(err: z.ZodError, prefix: string[] = []): string {
  const issue = err.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [...prefix, ...issue.path, issue.keys[0]] : [...prefix, ...issue.path];
  const message = issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message;
  return path.length ? `field "${path.join('.')}": ${message}` : message;
}

/** Parses the receivers file's JSON; the error names the receiver and the field. */
export function parseNotifyConfig(json: unknown): NotifyConfig {
  const top = FileSchema.safeParse(json ?? {});
  if (!top.success) throw new Error(issueText(top.error));
  const names = new Set<string>();
  const receivers = top.data.receivers.map((raw, i) => {
    const label = typeof (raw as { name?: unknown })?.name === 'string' ? `receiver "${(raw as { name: string }).name}"` : `receiver #${i + 1}`;
    const r = ReceiverSchema.safeParse(raw);
    if (!r.success) throw new Error(`${label}: ${issueText(r.error)}`);
    if (names.has(r.data.name)) throw new Error(`${label}: field "name": used twice`);
    names.add(r.data.name);
    return Object.freeze({
      name: r.data.name,
      type: r.data.type,
      url: r.data.url.replace(/\/+$/, ''),
      headers: Object.freeze({ ...r.data.headers }),
      severities: r.data.severities,
      rules: r.data.rules,
      agents: r.data.agents,
      sendResolved: r.data.send_resolved,
    });
  });
  const d = top.data;
  return Object.freeze({
    receivers: Object.freeze(receivers),
    groupBy: Object.freeze([...d.group_by]),
    groupWaitMs: d.group_wait,
    timeoutMs: d.timeout,
    retry: Object.freeze({ initialMs: d.retry.initial, maxMs: d.retry.max, maxAttempts: d.retry.max_attempts }),
    maxAlertsPerMessage: d.max_alerts_per_message,
    externalUrl: d.external_url ? d.external_url.replace(/\/+$/, '') : null,
  });
}

export const noReceivers = (): NotifyConfig => parseNotifyConfig({});
