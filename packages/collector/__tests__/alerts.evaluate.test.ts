import { evaluate, metricLevel } from '../src/alerts/evaluate';
import { percentStateChange } from '../src/alerts/flapping';
import { DEFAULT_RULES, parseAlertRules, type AlertRulesConfig } from '../src/alerts/rules';
import type { AgentSamples, AlertNotification, AlertState } from '../src/alerts/types';

const T0 = Date.parse('2025-09-03T10:00:00Z');
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();

/** Only the given rules: every default switched off. */
function only(rules: Record<string, Record<string, unknown>>, extra: Record<string, unknown> = {}): AlertRulesConfig {
  const off = Object.fromEntries(Object.keys(DEFAULT_RULES).map((n) => [n, { enabled: false }]));
  return parseAlertRules({ ...extra, rules: { ...off, ...rules } });
}

const cpuRule = (over: Record<string, unknown> = {}) =>
  only({ cpu_usage: { enabled: true, warning: 80, critical: 95, recovery_margin: 5, for: '0s', keep_firing_for: '0s', ...over } });

/** One evaluation's input for agent a1: a cpu value, the agent unreachable, or service states. */
type Input = number | 'down' | { services: Record<string, 'running' | 'stopped' | 'error' | 'missing'> };

function samplesAt(at: number, input: Input, agentId = 'a1'): AgentSamples {
  const base: AgentSamples = {
    agentId,
    reachable: true,
    lastPollAt: iso(at),
    lastPollError: null,
    metrics: null,
    servicesReportedAt: null,
    services: {},
  };
  if (input === 'down') return { ...base, reachable: false, lastPollError: 'connection_refused: connection refused', metrics: { ts: iso(at - 30), values: metricValues(99) } };
  if (typeof input === 'number') return { ...base, metrics: { ts: iso(at), values: metricValues(input) } };
  const services: Record<string, { ts: string; status: 'running' | 'stopped' | 'error' }> = {};
  for (const [name, st] of Object.entries(input.services)) {
    // A missing service keeps the sample of its last report.
    services[name] = st === 'missing' ? { ts: iso(-300), status: 'running' } : { ts: iso(at), status: st };
  }
  return { ...base, servicesReportedAt: iso(at), services };
}

const metricValues = (cpu: number) => ({ cpu_usage: cpu, memory_usage: 10, disk_usage: 10, load_1m: 0.1, load_5m: 0.1, load_15m: 0.1, temperature: null });

interface StepView {
  status: string;
  severity: string | null;
  flapping: boolean;
  notified: string | null;
}

/** Runs evaluations every `every` seconds; returns what each step looked like and everything notified. */
function run(rules: AlertRulesConfig, inputs: Input[], opts: { every?: number; key?: string; state?: Map<string, AlertState>; start?: number } = {}) {
  const every = opts.every ?? 30;
  const key = opts.key ?? 'cpu_usage/a1';
  const state = opts.state ?? new Map<string, AlertState>();
  const steps: StepView[] = [];
  const notifications: AlertNotification[][] = [];
  const events: string[] = [];
  inputs.forEach((input, i) => {
    const at = (opts.start ?? 0) + i * every;
    const r = evaluate(rules, [samplesAt(at, input)], state, new Date(T0 + at * 1000));
    for (const k of r.removed) state.delete(k);
    for (const s of r.states) state.set(s.key, s);
    const s = state.get(key);
    steps.push({ status: s?.status ?? 'inactive', severity: s?.severity ?? null, flapping: s?.flapping ?? false, notified: s?.notified?.status ?? null });
    notifications.push(r.notifications.filter((n) => n.key === key));
    events.push(...r.events.filter((e) => e.key === key).map((e) => e.kind));
  });
  const sent = notifications.flat();
  return { steps, state, notifications, sent, events, short: sent.map((n) => `${n.status}:${n.severity}${n.repeat ? ':repeat' : ''}${n.flapping ? ':flapping' : ''}`) };
}

const statuses = (r: ReturnType<typeof run>) => r.steps.map((s) => (s.status === 'firing' ? `firing:${s.severity}` : s.status));

describe('metric level with hysteresis', () => {
  const rule = { warning: 80, critical: 95, recoveryMargin: 5 };
  test.each([
    // value, current severity, expected
    [79.9, null, 'ok'],
    [80, null, 'warning'],
    [94.9, null, 'warning'],
    [95, null, 'critical'],
    [78, 'warning', 'warning'], // inside the margin: stays
    [75, 'warning', 'ok'], // at threshold − margin: leaves
    [91, 'critical', 'critical'], // above 95 − 5
    [90, 'critical', 'warning'],
    [74, 'critical', 'ok'],
  ] as const)('%s while %s → %s', (value, current, expected) => {
    expect(metricLevel(value, rule, current)).toBe(expected);
  });

  test('a rule with only a critical level', () => {
    const crit = { warning: null, critical: 90, recoveryMargin: 10 };
    expect(metricLevel(85, crit, null)).toBe('ok');
    expect(metricLevel(85, crit, 'critical')).toBe('critical');
    expect(metricLevel(80, crit, 'critical')).toBe('ok');
  });
});

describe('evaluator', () => {
  test.each<[string, AlertRulesConfig, Input[], string[], string[]]>([
    [
      'threshold crossings: warning, critical, back down, resolved',
      cpuRule(),
      [50, 85, 96, 85, 50],
      ['inactive', 'firing:warning', 'firing:critical', 'firing:warning', 'inactive'],
      ['firing:warning', 'firing:critical', 'firing:warning', 'resolved:warning'],
    ],
    [
      'for: pending until the condition has held 60 s',
      cpuRule({ for: '60s' }),
      [90, 90, 90, 90],
      ['pending', 'pending', 'firing:warning', 'firing:warning'],
      ['firing:warning'],
    ],
    [
      'one-poll spike: never fires',
      cpuRule({ for: '60s' }),
      [50, 99, 50, 50],
      ['inactive', 'pending', 'inactive', 'inactive'],
      [],
    ],
    [
      'hysteresis: stays firing inside the recovery margin, resolves at threshold − margin',
      cpuRule(),
      [85, 78, 76, 79, 75],
      ['firing:warning', 'firing:warning', 'firing:warning', 'firing:warning', 'inactive'],
      ['firing:warning', 'resolved:warning'],
    ],
    [
      'keep_firing_for: a short dip does not resolve, a long one does',
      cpuRule({ keep_firing_for: '60s', recovery_margin: 0 }),
      [90, 50, 90, 50, 50, 50],
      ['firing:warning', 'firing:warning', 'firing:warning', 'firing:warning', 'firing:warning', 'inactive'],
      ['firing:warning', 'resolved:warning'],
    ],
    [
      'escalation waits `for` at critical too; de-escalation below critical − margin',
      cpuRule({ for: '30s' }),
      [85, 85, 97, 97, 92, 89, 70],
      ['pending', 'firing:warning', 'firing:warning', 'firing:critical', 'firing:critical', 'firing:warning', 'inactive'],
      ['firing:warning', 'firing:critical', 'firing:warning', 'resolved:warning'],
    ],
    [
      'one-poll gap (agent unreachable) while firing: unknown, never resolved, no new notification',
      cpuRule(),
      [90, 'down', 90, 'down', 'down', 50],
      ['firing:warning', 'unknown', 'firing:warning', 'unknown', 'unknown', 'inactive'],
      ['firing:warning', 'resolved:warning'],
    ],
    [
      'unreachable while pending: unknown, then the `for` clock carries on',
      cpuRule({ for: '60s' }),
      [90, 'down', 90],
      ['pending', 'unknown', 'firing:warning'],
      ['firing:warning'],
    ],
    [
      'unreachable while inactive: nothing',
      cpuRule(),
      [50, 'down', 'down', 50],
      ['inactive', 'inactive', 'inactive', 'inactive'],
      [],
    ],
  ])('%s', (_name, rules, inputs, expectedStatuses, expectedNotifications) => {
    const r = run(rules, inputs);
    expect(statuses(r)).toEqual(expectedStatuses);
    expect(r.short).toEqual(expectedNotifications);
    expect(r.events.filter((e) => e === 'resolved').length).toBe(expectedNotifications.filter((n) => n.startsWith('resolved')).length);
  });

  test('unknown is recorded on the incident, and the agent coming back too', () => {
    const r = run(cpuRule(), [90, 'down', 'down', 90]);
    expect(r.events).toEqual(['opened', 'unknown', 'known']);
  });

  test('the same sample evaluated twice counts once (two tiers finishing together)', () => {
    const rules = cpuRule();
    const state = new Map<string, AlertState>();
    const s = samplesAt(0, 90);
    for (const at of [0, 1]) {
      const r = evaluate(rules, [s], state, new Date(T0 + at * 1000));
      for (const x of r.states) state.set(x.key, x);
    }
    expect(state.get('cpu_usage/a1')!.history).toBe('w');
  });

  describe('flapping', () => {
    const flappy = () => cpuRule({ for: '60s', recovery_margin: 0, flapping: { window: 20, high: 50, low: 25 } });

    test('a signal crossing the threshold every poll → one notification, held until it settles', () => {
      const oscillating: Input[] = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 90 : 50));
      const r = run(flappy(), oscillating);
      // With `for` 60 s it never fires, but flapping is reported, once.
      expect(r.short).toEqual(['firing:warning:flapping']);
      const startedAt = r.steps.findIndex((s) => s.flapping);
      expect(startedAt).toBeGreaterThan(5);
      expect(r.steps.slice(startedAt).every((s) => s.flapping)).toBe(true);
      expect(r.events.filter((e) => e === 'opened')).toHaveLength(1);

      // It settles low: flapping ends and one resolved message closes it.
      const settled = run(flappy(), Array(25).fill(50), { state: r.state, start: 40 * 30 });
      expect(settled.short).toEqual(['resolved:warning']);
      expect(settled.steps.at(-1)).toMatchObject({ status: 'inactive', flapping: false });
      expect(settled.events).toEqual(['flapping_stopped', 'resolved']);
    });

    test('a firing alert that starts flapping between levels sends nothing more while flapping', () => {
      const rules = cpuRule({ recovery_margin: 0, flapping: { window: 10, high: 40, low: 20 } });
      const r = run(rules, [85, 85, ...Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? 97 : 85))]);
      const flapStart = r.steps.findIndex((s) => s.flapping);
      expect(flapStart).toBeGreaterThan(0);
      // Before flapping was detected, each escalation/de-escalation was notified; after, nothing.
      expect(r.notifications.slice(flapStart).flat()).toEqual([]);
      // It settles at warning: one notification with the state people have not been told about.
      const settled = run(rules, Array(15).fill(85), { state: r.state, start: 32 * 30 });
      const lastTold = r.sent.at(-1)!.severity;
      expect(settled.short).toEqual(lastTold === 'warning' ? [] : ['firing:warning']);
      expect(settled.steps.at(-1)).toMatchObject({ status: 'firing', severity: 'warning', flapping: false });
    });

    test.each([
      ['', 0],
      ['oooo', 0],
      // One change: the newest weighs 1.25, the oldest 0.75, out of 19 possible.
      ['ow', 6.58],
      ['owwwwwwwwwwwwwwwwwww', 3.95],
      ['owowowowowowowowowow', 100],
      ['oooooooooooooooooooow', 6.58],
    ])('percent state change of "%s" ≈ %s', (h, pct) => {
      expect(percentStateChange(h, 20)).toBeCloseTo(pct, 1);
    });
  });

  test('repeat interval: an unchanged firing alert is notified again, unless acknowledged', () => {
    const rules = cpuRule({ repeat_interval: '2m' });
    const r = run(rules, [90, 90, 90, 90, 90, 90]);
    expect(r.short).toEqual(['firing:warning', 'firing:warning:repeat']);
    expect(r.notifications.findIndex((n) => n.length && n[0]!.repeat)).toBe(4);

    const acked = new Map(r.state);
    acked.set('cpu_usage/a1', { ...acked.get('cpu_usage/a1')!, acknowledged: true });
    const later = run(rules, [90, 90, 90, 90, 90, 90], { state: acked, start: 180 });
    expect(later.short).toEqual([]);
  });

  test('peak value, peak severity and flap count are carried on the incident', () => {
    const rules = cpuRule({ recovery_margin: 0 });
    const state = new Map<string, AlertState>();
    const changes: Array<{ op: string; peakValue: number | null; peakSeverity: string; flapCount: number }> = [];
    // 90 after 85 changes nothing the incident holds: no update for it.
    [85, 97, 85, 90, 50].forEach((v, i) => {
      const r = evaluate(rules, [samplesAt(i * 30, v)], state, new Date(T0 + i * 30_000));
      for (const k of r.removed) state.delete(k);
      for (const s of r.states) state.set(s.key, s);
      changes.push(...r.incidents.map((c) => ({ op: c.op, peakValue: c.peakValue, peakSeverity: c.peakSeverity, flapCount: c.flapCount })));
    });
    expect(changes.map((c) => c.op)).toEqual(['open', 'update', 'update', 'resolve']);
    // warning → critical → warning inside the incident; the final → ok resolves it and is not counted.
    expect(changes.at(-1)).toMatchObject({ peakValue: 97, peakSeverity: 'critical', flapCount: 2 });
  });

  describe('agent_down', () => {
    const rules = only({ cpu_usage: { enabled: true, warning: 80, for: '0s' }, agent_down: { enabled: true, for: '90s' } });

    test('fires after its `for`, while the metric alerts wait in unknown', () => {
      const state = new Map<string, AlertState>();
      const r0 = run(rules, [90], { state });
      expect(r0.steps[0]!.status).toBe('firing');
      const down = run(rules, ['down', 'down', 'down', 'down'], { state, start: 30, key: 'agent_down/a1' });
      expect(statuses(down)).toEqual(['pending', 'pending', 'pending', 'firing:critical']);
      expect(down.short).toEqual(['firing:critical']);
      expect(state.get('cpu_usage/a1')!.status).toBe('unknown');
      const back = run(rules, [50], { state, start: 150, key: 'agent_down/a1' });
      expect(back.short).toEqual(['resolved:critical']);
    });

    test('an agent never polled has no alerts at all', () => {
      const r = evaluate(rules, [{ ...samplesAt(0, 50), reachable: null, lastPollAt: null, metrics: null }], new Map(), new Date(T0));
      expect(r.states).toEqual([]);
    });
  });

  describe('services', () => {
    const rules = only({
      svc: { type: 'service', services: ['nginx', 'sshd', 'redis'], severity: 'critical', alert_on: ['stopped', 'error', 'unresponsive'], for: '0s' },
    });
    test.each<[string, Input[], string[], string[]]>([
      ['stopped → critical, running → resolved', [{ services: { nginx: 'running' } }, { services: { nginx: 'stopped' } }, { services: { nginx: 'running' } }], ['inactive', 'firing:critical', 'inactive'], ['firing:critical', 'resolved:critical']],
      ['error fires', [{ services: { nginx: 'error' } }], ['firing:critical'], ['firing:critical']],
      ['left out of the agent’s report → unresponsive', [{ services: { nginx: 'missing', sshd: 'running' } }], ['firing:critical'], ['firing:critical']],
      ['a service the agent does not track: no alert', [{ services: { sshd: 'running' } }], ['inactive'], []],
      ['agent unreachable → unknown', [{ services: { nginx: 'stopped' } }, 'down'], ['firing:critical', 'unknown'], ['firing:critical']],
    ])('%s', (_n, inputs, expectedStatuses, expectedNotifications) => {
      const r = run(rules, inputs, { key: 'svc/a1/nginx' });
      expect(statuses(r)).toEqual(expectedStatuses);
      expect(r.short).toEqual(expectedNotifications);
    });

    test('alert_on limits what fires', () => {
      const onlyStopped = only({ svc: { type: 'service', services: ['nginx'], severity: 'warning', alert_on: ['stopped'], for: '0s' } });
      expect(statuses(run(onlyStopped, [{ services: { nginx: 'error' } }], { key: 'svc/a1/nginx' }))).toEqual(['inactive']);
      expect(statuses(run(onlyStopped, [{ services: { nginx: 'stopped' } }], { key: 'svc/a1/nginx' }))).toEqual(['firing:warning']);
    });

    test('escalated by automated responses → critical, notified once, cleared on resolve', () => {
      const warn = only({ svc: { type: 'service', services: ['redis'], severity: 'warning', for: '0s' } });
      const state = new Map<string, AlertState>();
      run(warn, [{ services: { redis: 'stopped' } }], { state, key: 'svc/a1/redis' });
      state.set('svc/a1/redis', { ...state.get('svc/a1/redis')!, escalated: true });
      const r = run(warn, [{ services: { redis: 'stopped' } }, { services: { redis: 'stopped' } }, { services: { redis: 'running' } }], {
        state,
        key: 'svc/a1/redis',
        start: 30,
      });
      expect(statuses(r)).toEqual(['firing:critical', 'firing:critical', 'inactive']);
      expect(r.sent.map((n) => [n.status, n.severity, n.escalated])).toEqual([
        ['firing', 'critical', true],
        ['resolved', 'critical', false],
      ]);
      expect(r.events).toEqual(['severity_changed', 'resolved']);
    });
  });

  test('an alert whose rule was switched off is resolved, not left firing', () => {
    const state = new Map<string, AlertState>();
    run(cpuRule(), [90], { state });
    const off = parseAlertRules({ overrides: { 'agent:a1': { cpu_usage: { enabled: false } } } });
    const r = evaluate(off, [samplesAt(60, 90)], state, new Date(T0 + 60_000));
    expect(r.notifications.filter((n) => n.key === 'cpu_usage/a1').map((n) => n.status)).toEqual(['resolved']);
    expect(r.events.filter((e) => e.key === 'cpu_usage/a1').map((e) => e.kind)).toEqual(['resolved']);
    expect(r.removed).toEqual(['cpu_usage/a1']);
  });

  test('the state of an agent this collector does not poll is left alone (another collector may)', () => {
    const state = new Map<string, AlertState>();
    run(cpuRule(), [90], { state });
    const r = evaluate(cpuRule(), [samplesAt(60, 10, 'other')], state, new Date(T0 + 60_000));
    expect(r.notifications).toEqual([]);
    expect(r.removed).toEqual([]);
  });

  test('healthy agents leave no state rows behind', () => {
    const r = evaluate(parseAlertRules({}), [samplesAt(0, 10), samplesAt(0, 20, 'a2')], new Map(), new Date(T0));
    expect(r.states).toEqual([]);
    expect(r.notifications).toEqual([]);
  });
});
