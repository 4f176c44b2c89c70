import express from 'express';
import { z } from 'zod';
import { AGENT_ID } from '../config';
import type { Db } from '../store/db';
import { selectAgentIds, selectReport, selectServiceReport, REPORT_METRICS } from '../store/reports';
import { FLEET_COLUMNS, selectAgentTrend, selectFleetTrend, selectServiceHistory, serviceExists, type DbMetricBucket } from '../store/trends';
import { METRIC_COLUMNS } from '../store/rollups';
import { toCsv } from '../timeseries/csv';
import { reportWindow, ReportPeriodError } from '../timeseries/reportPeriod';
import { HOUR, parseDuration } from '../timeseries/time';
import {
  bucketStarts,
  DEFAULT_TREND_LIMITS,
  fillGaps,
  METRIC_SOURCES,
  planTrend,
  SERVICE_SOURCES,
  TrendPlanError,
  type Source,
  type TrendLimits,
  type TrendPlan,
} from '../timeseries/trendPlan';
import { HttpError, parseQuery } from './errors';

export interface TrendRouteDeps {
  db: Db;
  now?: () => Date;
  /** The services tier's period: one non-running sample counts as this much downtime. */
  servicesIntervalSeconds?: number;
  limits?: TrendLimits;
}

const time = (example: string) => z.iso.datetime({ offset: true, error: `must be an ISO 8601 time, e.g. ${example}` }).optional();
const step = z
  .string()
  .refine((s) => parseDuration(s) !== null, 'must be a duration such as 30s, 5m, 1h or 1d')
  .refine((s) => (parseDuration(s) ?? 0) <= 366 * 86_400, 'must be at most 366d')
  .optional();
const agentList = z
  .string()
  .transform((s) => [...new Set(s.split(',').map((x) => x.trim()).filter(Boolean))])
  .refine((ids) => ids.length > 0 && ids.length <= 1000, 'must list 1 to 1000 agent ids, comma-separated')
  .refine((ids) => ids.every((id) => AGENT_ID.test(id)), 'agent ids are 1-50 characters of A-Z a-z 0-9 . _ -');

const RangeQuery = z.object({ from: time('2025-09-03T09:00:00Z'), to: time('2025-09-03T10:00:00Z'), step }).strict();
const METRIC_NAMES = METRIC_COLUMNS.map((c) => c.column);
const fields = z
  .string()
  .transform((s) => [...new Set(s.split(',').map((x) => x.trim()).filter(Boolean))])
  .refine((names) => names.length > 0, 'must name at least one metric')
  .superRefine((names, ctx) => {
    const unknown = names.find((n) => !METRIC_NAMES.includes(n));
    if (unknown !== undefined) ctx.addIssue({ code: 'custom', message: `unknown metric "${unknown}"; known: ${METRIC_NAMES.join(', ')}` });
  })
  .optional();
const AgentMetricsQuery = RangeQuery.extend({ fields }).strict();
const FleetQuery = RangeQuery.extend({ agent: agentList.optional() }).strict();
const ServicesQuery = RangeQuery.extend({ service: z.string().min(1).max(200).optional() }).strict();
const ReportQuery = z
  .object({
    period: z.enum(['day', 'week', 'month'], { error: 'must be day, week or month' }),
    start: z.union([z.iso.date(), z.iso.datetime({ offset: true })], { error: 'must be an ISO 8601 date or time, e.g. 2025-09-01' }).optional(),
    agent: agentList.optional(),
    format: z.enum(['json', 'csv'], { error: 'must be json or csv' }).default('json'),
  })
  .strict();

const iso = (t: number | Date) => new Date(t).toISOString();

/** API names: <column>_avg is the plain <column>; the other aggregates keep their suffix. */
const metricFields = (columns: typeof METRIC_COLUMNS) =>
  columns.flatMap((c) => c.aggs.map((a) => ({ field: a === 'avg' ? c.column : `${c.column}_${a}`, column: `${c.column}_${a}` })));

function metricPoint(fields: ReturnType<typeof metricFields>, r: DbMetricBucket | null, ts: number): Record<string, unknown> {
  const p: Record<string, unknown> = { ts: iso(ts), samples: r ? Number(r.samples) : 0 };
  for (const f of fields) p[f.field] = r && r[f.column] !== null ? Number(r[f.column]) : null;
  return p;
}

const pct = (part: number, whole: number) => (whole > 0 ? (100 * part) / whole : null);

/**
 * Trend, fleet, service-history and report routes. Every series is bucketed
 * on a fixed grid (buckets with no data are present, as nulls) and read from
 * the coarsest rollup whose buckets divide the step.
 */
export function trendRoutes(deps: TrendRouteDeps): express.Router {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const limits = deps.limits ?? DEFAULT_TREND_LIMITS;
  const servicesInterval = deps.servicesIntervalSeconds ?? 300;
  const router = express.Router();

  const plan = (q: { from?: string; to?: string; step?: string }, defaultRangeMs: number, sources: readonly Source[]): TrendPlan => {
    const to = q.to ? new Date(q.to) : now();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - defaultRangeMs);
    try {
      return planTrend({ from, to, stepSeconds: q.step ? parseDuration(q.step) : null }, sources, limits);
    } catch (err) {
      if (err instanceof TrendPlanError) throw new HttpError(400, err.code, err.message);
      throw err;
    }
  };

  const requireAgents = async (ids: readonly string[]) => {
    const known = new Set(await selectAgentIds(db, ids));
    const missing = ids.find((id) => !known.has(id));
    if (missing !== undefined) throw new HttpError(404, 'unknown_agent', `no agent with id "${missing}"`);
  };

  const header = (p: TrendPlan) => ({ from: iso(p.from), to: iso(p.to), step: p.step, step_seconds: p.stepSeconds, source: p.source.table });

  router.get('/api/v1/agents/:id/metrics', async (req, res) => {
    const q = parseQuery(AgentMetricsQuery, req.query);
    const p = plan(q, HOUR, METRIC_SOURCES);
    await requireAgents([req.params.id]);
    const columns = q.fields ? METRIC_COLUMNS.filter((c) => q.fields!.includes(c.column)) : METRIC_COLUMNS;
    const rows = await selectAgentTrend(db, req.params.id, p, columns);
    const fields = metricFields(columns);
    res.json({
      agent_id: req.params.id,
      ...header(p),
      p95: p.p95,
      points: fillGaps(bucketStarts(p), rows, (r, ts) => metricPoint(fields, r, ts), (ts) => metricPoint(fields, null, ts)),
    });
  });

  router.get('/api/v1/fleet/metrics', async (req, res) => {
    const q = parseQuery(FleetQuery, req.query);
    const p = plan(q, HOUR, METRIC_SOURCES);
    if (q.agent) await requireAgents(q.agent);
    const rows = await selectFleetTrend(db, q.agent ?? null, p);
    const point = (r: (typeof rows)[number] | null, ts: number) => {
      const out: Record<string, unknown> = { ts: iso(ts), agents: r ? Number(r.agents) : 0, samples: r ? Number(r.samples) : 0 };
      const num = (v: number | null | undefined) => (v === null || v === undefined ? null : Number(v));
      for (const c of FLEET_COLUMNS) {
        out[c] = num(r?.[`${c}_avg`]);
        out[`${c}_max`] = num(r?.[`${c}_max`]);
        out[`${c}_p95`] = num(r?.[`${c}_p95`]);
      }
      return out;
    };
    res.json({
      agents: q.agent ?? 'all',
      ...header(p),
      // Fleet p95 is across agents (of each agent's bucket mean): exact at every step.
      p95: 'across_agents',
      points: fillGaps(bucketStarts(p), rows, point, (ts) => point(null, ts)),
    });
  });

  router.get('/api/v1/agents/:id/services/history', async (req, res) => {
    const q = parseQuery(ServicesQuery, req.query);
    const p = plan(q, 24 * HOUR, SERVICE_SOURCES);
    await requireAgents([req.params.id]);
    if (q.service !== undefined && !(await serviceExists(db, req.params.id, q.service))) {
      throw new HttpError(404, 'unknown_service', `agent "${req.params.id}" has never reported a service named "${q.service}"`);
    }
    const rows = await selectServiceHistory(db, req.params.id, q.service ?? null, p);
    const names = [...new Set(rows.map((r) => r.service_name))];
    const starts = bucketStarts(p);
    res.json({
      agent_id: req.params.id,
      ...header(p),
      sample_interval_seconds: servicesInterval,
      services: names.map((name) => {
        const mine = rows.filter((r) => r.service_name === name);
        const samples = mine.reduce((n, r) => n + r.samples, 0);
        const running = mine.reduce((n, r) => n + r.running_samples, 0);
        return {
          name,
          samples,
          running_samples: running,
          uptime_percent: pct(running, samples),
          downtime_seconds: (samples - running) * servicesInterval,
          points: fillGaps(
            starts,
            mine,
            (r, ts) => ({ ts: iso(ts), samples: r.samples, running: r.running_samples, stopped: r.stopped_samples, error: r.error_samples, uptime_percent: pct(r.running_samples, r.samples) }),
            (ts) => ({ ts: iso(ts), samples: 0, running: 0, stopped: 0, error: 0, uptime_percent: null }),
          ),
        };
      }),
    });
  });

  router.get('/api/v1/reports', async (req, res) => {
    const q = parseQuery(ReportQuery, req.query);
    let window: { from: Date; to: Date };
    try {
      window = reportWindow(q.period, q.start ? new Date(q.start) : null, now());
    } catch (err) {
      if (err instanceof ReportPeriodError) throw new HttpError(400, 'invalid_range', err.message);
      throw err;
    }
    if (q.agent) await requireAgents(q.agent);
    const ids = q.agent ? [...q.agent].sort() : await selectAgentIds(db, null);
    const [rows, services] = await Promise.all([
      selectReport(db, ids, window.from, window.to),
      selectServiceReport(db, ids, window.from, window.to),
    ]);
    const agents = rows.map((r) => {
      const svc = services
        .filter((s) => s.agent_id === r.agent_id)
        .map((s) => ({
          name: s.service_name,
          samples: s.samples,
          uptime_percent: pct(s.running_samples, s.samples),
          downtime_seconds: (s.samples - s.running_samples) * servicesInterval,
        }));
      const num = (v: number | null) => (v === null ? null : Number(v));
      return {
        agent_id: r.agent_id,
        samples: r.samples ?? 0,
        ...Object.fromEntries(
          REPORT_METRICS.map((c) => [c, { avg: num(r[`${c}_avg`]), p95: num(r[`${c}_p95`]), max: num(r[`${c}_max`]) }]),
        ),
        availability_percent: r.polls ? pct(r.ok_polls ?? 0, r.polls) : null,
        polls: r.polls ?? 0,
        service_downtime_seconds: svc.reduce((n, s) => n + s.downtime_seconds, 0),
        services: svc,
        incidents: r.incidents,
      } as Record<string, unknown> & { services: typeof svc; agent_id: string };
    });
    const body = { period: q.period, from: iso(window.from), to: iso(window.to), generated_at: iso(now()), sample_interval_seconds: servicesInterval, agents };
    if (q.format === 'json') {
      res.json(body);
      return;
    }
    const m = (a: Record<string, unknown>, c: string, k: 'avg' | 'p95' | 'max') => (a[c] as Record<string, number | null>)[k];
    const csv = toCsv(
      ['agent_id', 'period', 'from', 'to', 'samples',
        ...REPORT_METRICS.flatMap((c) => [`${c}_avg`, `${c}_p95`, `${c}_max`]),
        'availability_percent', 'polls', 'service_downtime_seconds', 'services_down', 'incidents'],
      agents.map((a) => [
        a.agent_id, q.period, body.from, body.to, a.samples as number,
        ...REPORT_METRICS.flatMap((c) => [m(a, c, 'avg'), m(a, c, 'p95'), m(a, c, 'max')]),
        a.availability_percent as number | null, a.polls as number, a.service_downtime_seconds as number,
        a.services.filter((s) => s.downtime_seconds > 0).map((s) => `${s.name}:${s.downtime_seconds}`).join(';'),
        a.incidents as number,
      ]),
    );
    res
      .type('text/csv; charset=utf-8')
      .attachment(`viworks-report-${q.period}-${body.from.slice(0, 10)}.csv`)
      .send(csv);
  });

  return router;
}
