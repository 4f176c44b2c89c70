import { z } from 'zod';
import { DEFAULT_THRESHOLDS } from '@viworks/protocol';
import { durationMs } from './duration';

/**
 * Alert rules: what to watch, at which levels, for how long. Read once from
 * COLLECTOR_ALERT_RULES_FILE (see parseAlertRules), merged over the spec's
 * defaults, overridable per agent group and per agent. Everything here is pure.
 */

export type Severity = 'warning' | 'critical';
export const SEVERITIES = ['warning', 'critical'] as const;

export const METRICS = ['cpu_usage', 'memory_usage', 'disk_usage', 'load_1m', 'load_5m', 'load_15m', 'temperature'] as const;
export type MetricName = (typeof METRICS)[number];

/** What a service alert fires on. `unresponsive`: the agent answers but no longer reports the service. */
export const SERVICE_CONDITIONS = ['stopped', 'error', 'unresponsive'] as const;
export type ServiceCondition = (typeof SERVICE_CONDITIONS)[number];

export interface FlapConfig {
  /** Evaluations (with a new sample) looked at. */
  readonly window: number;
  /** Percent state change at or above which an alert starts flapping… */
  readonly high: number;
  /** …and below which it stops. */
  readonly low: number;
}

interface RuleCommon {
  readonly name: string;
  readonly enabled: boolean;
  /** The condition must hold this long before the alert fires (and before it escalates to critical). */
  readonly forMs: number;
  /** A firing alert stays firing this long after its condition stops holding. */
  readonly keepFiringForMs: number;
  /** A firing alert that nobody acknowledged is notified again after this long. */
  readonly repeatIntervalMs: number;
  readonly flapping: FlapConfig;
}

export interface MetricRule extends RuleCommon {
  readonly type: 'metric';
  readonly metric: MetricName;
  readonly warning: number | null;
  readonly critical: number | null;
  /** Hysteresis: a level is left only once the value is below its threshold minus this. */
  readonly recoveryMargin: number;
}

export interface AutoRestartPolicy {
  /** Services of the rule that are restarted; null = all of them. */
  readonly services: readonly string[] | null;
  readonly on: ReadonlyArray<'stopped' | 'error'>;
  readonly maxPerHour: number;
  /** Wait before the 2nd attempt of an incident; doubles per attempt up to maxBackoffMs. */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  /** How long the service has to show `running` on the agent after a restart. */
  readonly verifyTimeoutMs: number;
  readonly verifyIntervalMs: number;
  /** For the restart request itself (the agent allows a unit 120 s). */
  readonly requestTimeoutMs: number;
}

export interface ServiceRule extends RuleCommon {
  readonly type: 'service';
  readonly services: readonly string[];
  readonly severity: Severity;
  readonly alertOn: readonly ServiceCondition[];
  readonly autoRestart: AutoRestartPolicy | null;
}

export interface AgentDownRule extends RuleCommon {
  readonly type: 'agent_down';
  readonly severity: Severity;
}

export type Rule = MetricRule | ServiceRule | AgentDownRule;

type RawRule = Record<string, unknown>;

export interface AlertRulesConfig {
  /** Every rule name, in file order (defaults first). */
  readonly names: readonly string[];
  /** Raw rules with the file's defaults filled in; overrides merge over these. */
  readonly base: Readonly<Record<string, RawRule>>;
  readonly groups: Readonly<Record<string, readonly string[]>>;
  /** In file order: group overrides apply in this order, then the agent's own. */
  readonly overrides: ReadonlyArray<{ readonly target: 'group' | 'agent'; readonly name: string; readonly rules: Readonly<Record<string, RawRule>> }>;
}

export const DEFAULT_CRITICAL_SERVICES = ['nginx', 'sshd', 'viworks-gateway-agent'];
export const DEFAULT_MONITORING_SERVICES = ['docker', 'postgres', 'redis', 'openvpn'];

const DEFAULT_COMMON = {
  for: '60s',
  keep_firing_for: '0s',
  repeat_interval: '4h',
  flapping: { window: 20, high: 50, low: 25 },
};

/** The spec's "Alerting & Thresholds", plus disk and agent_down. */
export const DEFAULT_RULES: Readonly<Record<string, RawRule>> = {
  cpu_usage: { type: 'metric', metric: 'cpu_usage', ...DEFAULT_THRESHOLDS.cpu, recovery_margin: 5 },
  memory_usage: { type: 'metric', metric: 'memory_usage', ...DEFAULT_THRESHOLDS.memory, recovery_margin: 5 },
  load_average: { type: 'metric', metric: 'load_1m', ...DEFAULT_THRESHOLDS.load, recovery_margin: 0.5 },
  // Disks fill slowly and a log rotation can spike them: wait longer, recover by 2 points.
  disk_usage: { type: 'metric', metric: 'disk_usage', ...DEFAULT_THRESHOLDS.disk, recovery_margin: 2, for: '5m' },
  // Services are sampled every 5 minutes: one stopped sample is already 0-5 minutes of outage.
  critical_services: { type: 'service', services: DEFAULT_CRITICAL_SERVICES, severity: 'critical', alert_on: [...SERVICE_CONDITIONS], for: '0s' },
  monitoring_services: { type: 'service', services: DEFAULT_MONITORING_SERVICES, severity: 'warning', alert_on: [...SERVICE_CONDITIONS], for: '0s' },
  // Three missed 30 s polls.
  agent_down: { type: 'agent_down', severity: 'critical', for: '90s' },
};

const RULE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$/;
const AGENT_ID = /^[A-Za-z0-9._-]{1,50}$/;
const GROUP_NAME = /^[A-Za-z0-9._-]{1,50}$/;

const finite = z.number({ error: 'must be a number' }).refine(Number.isFinite, 'must be a finite number');
const serviceName = z.string().regex(SERVICE_NAME, 'must be a service name (letters, digits, _ . @ -)');

const FlapSchema = z
  .strictObject({
    window: z.number().int('must be a whole number').min(3).max(100),
    high: z.number().min(0).max(100),
    low: z.number().min(0).max(100),
  })
  .refine((f) => f.low < f.high, { message: 'low must be below high', path: ['low'] });

const commonFields = {
  enabled: z.boolean().default(true),
  for: durationMs(),
  keep_firing_for: durationMs(),
  repeat_interval: durationMs().refine((ms) => ms >= 60_000, 'must be at least 1m'),
  flapping: FlapSchema,
};

const MetricSchema = z
  .strictObject({
    ...commonFields,
    type: z.literal('metric'),
    metric: z.enum(METRICS, { error: `must be one of ${METRICS.join(', ')}` }),
    warning: finite.nullable().default(null),
    critical: finite.nullable().default(null),
    recovery_margin: finite.min(0, 'must not be negative').default(0),
  })
  .superRefine((r, ctx) => {
    if (r.warning === null && r.critical === null) ctx.addIssue({ code: 'custom', path: ['warning'], message: 'a metric rule needs warning or critical' });
    if (r.warning !== null && r.critical !== null && r.warning >= r.critical) {
      ctx.addIssue({ code: 'custom', path: ['warning'], message: `must be below critical (${r.critical})` });
    }
  });

const AutoRestartSchema = z
  .strictObject({
    services: z.array(serviceName).min(1).nullable().default(null),
    on: z.array(z.enum(['stopped', 'error'])).min(1).default(['stopped', 'error']),
    max_per_hour: z.number().int('must be a whole number').min(1).max(60).default(3),
    backoff: durationMs(86_400_000).default(30_000),
    max_backoff: durationMs(86_400_000).default(600_000),
    verify_timeout: durationMs(3_600_000).refine((ms) => ms > 0, 'must be above 0').default(60_000),
    verify_interval: durationMs(600_000).refine((ms) => ms > 0, 'must be above 0').default(5000),
    request_timeout: durationMs(600_000).refine((ms) => ms > 0, 'must be above 0').default(130_000),
  })
  .refine((a) => a.backoff <= a.max_backoff, { message: 'must not exceed max_backoff', path: ['backoff'] });

const ServiceSchema = z
  .strictObject({
    ...commonFields,
    type: z.literal('service'),
    services: z.array(serviceName).min(1, 'must list at least one service'),
    severity: z.enum(SEVERITIES, { error: 'must be warning or critical' }),
    alert_on: z.array(z.enum(SERVICE_CONDITIONS, { error: `must be one of ${SERVICE_CONDITIONS.join(', ')}` })).min(1).default([...SERVICE_CONDITIONS]),
    auto_restart: z.union([z.literal(false), AutoRestartSchema]).default(false),
  })
  .superRefine((r, ctx) => {
    if (r.auto_restart && r.auto_restart.services) {
      const bad = r.auto_restart.services.find((s) => !r.services.includes(s));
      if (bad) ctx.addIssue({ code: 'custom', path: ['auto_restart', 'services'], message: `"${bad}" is not one of this rule's services` });
    }
  });

const AgentDownSchema = z.strictObject({
  ...commonFields,
  type: z.literal('agent_down'),
  severity: z.enum(SEVERITIES, { error: 'must be warning or critical' }).default('critical'),
});

const TYPES = { metric: MetricSchema, service: ServiceSchema, agent_down: AgentDownSchema } as const;

function issueText(err: z.ZodError): string {
  const issue = err.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    return `field "${[...issue.path, issue.keys[0]].join('.')}": unknown field`;
  }
  const field = issue.path.join('.');
  return field ? `field "${field}": ${issue.message}` : issue.message;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates one raw rule (defaults already merged in) into a typed rule; throws naming the field. */
export function compileRule(name: string, raw: RawRule): Rule {
  const type = raw.type;
  if (typeof type !== 'string' || !Object.hasOwn(TYPES, type)) {
    throw new Error(`rule "${name}": field "type": must be one of ${Object.keys(TYPES).join(', ')}`);
  }
  const r = TYPES[type as keyof typeof TYPES].safeParse(raw);
  if (!r.success) throw new Error(`rule "${name}": ${issueText(r.error)}`);
  const d = r.data;
  const base = {
    name,
    enabled: d.enabled,
    forMs: d.for,
    keepFiringForMs: d.keep_firing_for,
    repeatIntervalMs: d.repeat_interval,
    flapping: d.flapping,
  };
  if (d.type === 'metric') {
    return { ...base, type: 'metric', metric: d.metric, warning: d.warning, critical: d.critical, recoveryMargin: d.recovery_margin };
  }
  if (d.type === 'service') {
    const a = d.auto_restart;
    return {
      ...base,
      type: 'service',
      services: d.services,
      severity: d.severity,
      alertOn: d.alert_on,
      autoRestart: a
        ? {
            services: a.services,
            on: a.on,
            maxPerHour: a.max_per_hour,
            backoffMs: a.backoff,
            maxBackoffMs: a.max_backoff,
            verifyTimeoutMs: a.verify_timeout,
            verifyIntervalMs: a.verify_interval,
            requestTimeoutMs: a.request_timeout,
          }
        : null,
    };
  }
  return { ...base, type: 'agent_down', severity: d.severity };
}

/** One level deep: nested objects (flapping, auto_restart) merge too, so an override can change one field of them. */
function mergeRule(base: RawRule, over: RawRule): RawRule {
  const out: RawRule = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObject(v) && isObject(base[k]) ? { ...(base[k] as object), ...v } : v;
  }
  return out;
}

const DefaultsSchema = z
  .strictObject({
    for: z.unknown(),
    keep_firing_for: z.unknown(),
    repeat_interval: z.unknown(),
    flapping: z.unknown(),
  })
  .partial();

/**
 * Parses the rules file's JSON. File rules merge over the defaults by name
 * (`"enabled": false` switches a default off); a new name needs a `type`.
 * Throws an Error whose message names the rule and the field.
 */
export function parseAlertRules(json: unknown): AlertRulesConfig {
  if (json === undefined || json === null) json = {};
  if (!isObject(json)) throw new Error('must be a JSON object with "rules", "defaults", "groups" and "overrides"');
  const known = ['defaults', 'rules', 'groups', 'overrides'];
  const unknownKey = Object.keys(json).find((k) => !known.includes(k));
  if (unknownKey) throw new Error(`field "${unknownKey}": unknown field (expected ${known.join(', ')})`);

  const defaults = DefaultsSchema.safeParse(json.defaults ?? {});
  if (!defaults.success) throw new Error(`defaults: ${issueText(defaults.error)}`);
  const common: RawRule = { ...DEFAULT_COMMON, ...(defaults.data as RawRule) };
  if (isObject(defaults.data.flapping)) common.flapping = { ...DEFAULT_COMMON.flapping, ...defaults.data.flapping };
  const commonCheck = z.strictObject(commonFields).omit({ enabled: true }).safeParse(common);
  if (!commonCheck.success) throw new Error(`defaults: ${issueText(commonCheck.error)}`);

  const fileRules = json.rules ?? {};
  if (!isObject(fileRules)) throw new Error('field "rules": must be an object of rule name → rule');
  const base: Record<string, RawRule> = {};
  for (const [name, raw] of Object.entries(DEFAULT_RULES)) base[name] = mergeRule(common, raw);
  for (const [name, raw] of Object.entries(fileRules)) {
    if (!RULE_NAME.test(name)) throw new Error(`rule "${name.slice(0, 64)}": not a valid rule name (a letter, then letters, digits or _)`);
    if (!isObject(raw)) throw new Error(`rule "${name}": must be an object`);
    const prior = base[name];
    if (prior && raw.type !== undefined && raw.type !== prior.type) {
      throw new Error(`rule "${name}": field "type": a default rule keeps its type (${String(prior.type)}); give a new rule a new name`);
    }
    base[name] = prior ? mergeRule(prior, raw) : mergeRule(common, raw);
  }
  for (const [name, raw] of Object.entries(base)) compileRule(name, raw);

  const groupsRaw = json.groups ?? {};
  if (!isObject(groupsRaw)) throw new Error('field "groups": must be an object of group name → agent ids');
  const groups: Record<string, string[]> = {};
  for (const [g, members] of Object.entries(groupsRaw)) {
    if (!GROUP_NAME.test(g)) throw new Error(`group "${g.slice(0, 50)}": not a valid group name`);
    if (!Array.isArray(members) || members.some((m) => typeof m !== 'string' || !AGENT_ID.test(m))) {
      throw new Error(`group "${g}": must be a list of agent ids`);
    }
    groups[g] = [...members];
  }

  const overridesRaw = json.overrides ?? {};
  if (!isObject(overridesRaw)) throw new Error('field "overrides": must be an object of "group:<name>" or "agent:<id>" → rules');
  const overrides: Array<{ target: 'group' | 'agent'; name: string; rules: Record<string, RawRule> }> = [];
  for (const [key, rules] of Object.entries(overridesRaw)) {
    const m = /^(group|agent):(.+)$/.exec(key);
    if (!m) throw new Error(`override "${key.slice(0, 60)}": must be named "group:<name>" or "agent:<id>"`);
    const target = m[1] as 'group' | 'agent';
    const name = m[2]!;
    if (target === 'group' && !Object.hasOwn(groups, name)) throw new Error(`override "${key}": no group "${name}" in "groups"`);
    if (target === 'agent' && !AGENT_ID.test(name)) throw new Error(`override "${key}": not a valid agent id`);
    if (!isObject(rules)) throw new Error(`override "${key}": must be an object of rule name → fields`);
    for (const [ruleName, fields] of Object.entries(rules)) {
      if (!Object.hasOwn(base, ruleName)) throw new Error(`override "${key}": rule "${ruleName}": no such rule`);
      if (!isObject(fields)) throw new Error(`override "${key}": rule "${ruleName}": must be an object`);
      for (const fixed of ['type', 'metric']) {
        if (fields[fixed] !== undefined) throw new Error(`override "${key}": rule "${ruleName}": field "${fixed}": cannot be overridden`);
      }
      try {
        compileRule(ruleName, mergeRule(base[ruleName]!, fields));
      } catch (err) {
        throw new Error(`override "${key}": ${(err as Error).message}`);
      }
    }
    overrides.push({ target, name, rules: rules as Record<string, RawRule> });
  }

  return deepFreeze({ names: Object.keys(base), base, groups, overrides });
}

const cache = new WeakMap<AlertRulesConfig, Map<string, readonly Rule[]>>();

/**
 * The enabled rules for one agent: base rules, then each matching group
 * override in file order, then the agent's own override. Memoised per config.
 */
export function rulesForAgent(config: AlertRulesConfig, agentId: string): readonly Rule[] {
  let byAgent = cache.get(config);
  if (!byAgent) cache.set(config, (byAgent = new Map()));
  const hit = byAgent.get(agentId);
  if (hit) return hit;
  const applicable = config.overrides.filter((o) =>
    o.target === 'agent' ? o.name === agentId : (config.groups[o.name] ?? []).includes(agentId),
  );
  applicable.sort((a, b) => (a.target === b.target ? 0 : a.target === 'group' ? -1 : 1));
  const rules: Rule[] = [];
  for (const name of config.names) {
    let raw = config.base[name]!;
    for (const o of applicable) if (o.rules[name]) raw = mergeRule(raw, o.rules[name]!);
    let rule: Rule;
    try {
      rule = compileRule(name, raw);
    } catch (err) {
      throw new Error(`agent "${agentId}": ${(err as Error).message}`);
    }
    if (rule.enabled) rules.push(rule);
  }
  const frozen = Object.freeze(rules);
  byAgent.set(agentId, frozen);
  return frozen;
}

/** The built-in rules alone (no file). */
export const defaultAlertRules = (): AlertRulesConfig => parseAlertRules({});

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
