import path from 'node:path';
import express from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Db } from '../store/db';
import { getAgent, listAgents } from '../store/agents';
import { selectMetrics } from '../store/metrics';
import { selectLatestServices } from '../store/services';
import { errorHandler, HttpError, notFound, parseQuery } from './errors';

export interface CollectorAppDeps {
  db: Db;
  registry: Registry;
  logger: Logger;
  version: string;
  now?: () => Date;
}

const MAX_RANGE_MS = 31 * 86_400_000;

const MetricsQuery = z
  .object({
    from: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2025-09-03T09:00:00Z' }).optional(),
    to: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2025-09-03T10:00:00Z' }).optional(),
    limit: z.coerce.number().int('must be a whole number').min(1).max(10_000).default(2000),
  })
  .strict();

const PUBLIC_DIR = path.resolve(__dirname, '../../public');

/** The collector's API and dashboard. Never listens: main.ts does. */
export function createApp(deps: CollectorAppDeps): express.Express {
  const { db, registry, version } = deps;
  const now = deps.now ?? (() => new Date());
  const app = express();
  app.disable('x-powered-by');

  const knownAgent = async (id: string) => {
    const agent = await getAgent(db, id);
    if (!agent) throw new HttpError(404, 'unknown_agent', `no agent with id "${id}"`);
    return agent;
  };

  app.get('/api/v1/health', (_req, res) => {
    res.json({ status: 'healthy', timestamp: now().toISOString(), version, store: db.kind });
  });

  app.get('/api/v1/agents', async (_req, res) => {
    res.json({ agents: await listAgents(db) });
  });

  app.get('/api/v1/agents/:id', async (req, res) => {
    res.json(await knownAgent(req.params.id));
  });

  app.get('/api/v1/agents/:id/metrics', async (req, res) => {
    const q = parseQuery(MetricsQuery, req.query);
    const to = q.to ? new Date(q.to) : now();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - 3_600_000);
    if (from >= to) throw new HttpError(400, 'invalid_range', 'from must be before to');
    if (to.getTime() - from.getTime() > MAX_RANGE_MS) throw new HttpError(400, 'invalid_range', 'the range may span at most 31 days');
    await knownAgent(req.params.id);
    const rows = await selectMetrics(db, req.params.id, from, to, q.limit);
    res.json({
      agent_id: req.params.id,
      from: from.toISOString(),
      to: to.toISOString(),
      points: rows.map((r) => ({
        ts: new Date(r.ts).toISOString(),
        cpu_usage: r.cpu_usage,
        memory_usage: r.memory_usage,
        disk_usage: r.disk_usage,
        load_average_1m: r.load_average_1m,
        load_average_5m: r.load_average_5m,
        load_average_15m: r.load_average_15m,
        uptime_seconds: Number(r.uptime_seconds),
        temperature: r.temperature,
      })),
    });
  });

  app.get('/api/v1/agents/:id/services', async (req, res) => {
    await knownAgent(req.params.id);
    const rows = await selectLatestServices(db, req.params.id);
    res.json({
      agent_id: req.params.id,
      services: rows.map((r) => ({
        name: r.service_name,
        ts: new Date(r.ts).toISOString(),
        status: r.status,
        pid: r.pid,
        cpu_percent: r.cpu_percent,
        memory_bytes: r.memory_bytes === null ? null : Number(r.memory_bytes),
      })),
    });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });

  app.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: 0 }));
  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
