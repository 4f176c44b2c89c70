import path from 'node:path';
import express from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Db } from '../store/db';
import { getAgent, listAgents } from '../store/agents';
import { selectLatestServices } from '../store/services';
import { alertRoutes } from './alertRoutes';
import type { AgentRegistry } from '../fleet/agentRegistry';
import { errorHandler, HttpError, notFound } from './errors';
import { fleetRoutes } from './fleetRoutes';
import { trendRoutes } from './trendRoutes';

export interface CollectorAppDeps {
  db: Db;
  registry: Registry;
  logger: Logger;
  version: string;
  now?: () => Date;
  /** The services tier's period, for service downtime in history and reports (default 300). */
  servicesIntervalSeconds?: number;
  /** Enables POST/DELETE /api/v1/agents (collector.fleet.registry). */
  agentRegistry?: AgentRegistry;
}

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

  if (deps.agentRegistry) app.use(fleetRoutes({ db, registry: deps.agentRegistry }));

  app.get('/api/v1/agents', async (_req, res) => {
    res.json({ agents: await listAgents(db) });
  });

  app.get('/api/v1/agents/:id', async (req, res) => {
    res.json(await knownAgent(req.params.id));
  });

  // Bucketed metrics (agent and fleet), service history and reports.
  app.use(trendRoutes({ db, now, servicesIntervalSeconds: deps.servicesIntervalSeconds }));

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

  app.use(alertRoutes({ db, now }));

  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });

  app.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: 0 }));
  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
