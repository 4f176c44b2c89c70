import express from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { agentOpenApiDocument, evaluateOverallHealth, type HealthResponse, type StatusSimpleResponse } from '@viworks/protocol';
import type { Sampler, Snapshot } from '../sampling/sampler';
import { errorHandler, HttpError, notFound } from './middleware/errors';

export interface AppDeps {
  sampler: Sampler;
  registry: Registry;
  logger: Logger;
  version: string;
  /** When the agent process started (for /health uptime). */
  startedAt: Date;
  now?: () => Date;
}

/** Builds the agent's HTTP API. Never listens: main.ts does. */
export function createApp(deps: AppDeps): express.Express {
  const { sampler, registry, version, startedAt } = deps;
  const now = deps.now ?? (() => new Date());
  const openapi = agentOpenApiDocument(version);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const snapshot = (): Snapshot => {
    const s = sampler.latest();
    if (!s) throw new HttpError(503, 'not_ready', 'the agent has not finished its first sample yet');
    return s;
  };

  app.get('/api/v1/health', (_req, res) => {
    const body: HealthResponse = {
      status: sampler.latest() ? 'healthy' : 'starting',
      timestamp: now().toISOString(),
      version,
      uptime: Math.max(0, Math.floor((now().getTime() - startedAt.getTime()) / 1000)),
    };
    res.json(body);
  });

  app.get('/api/v1/status', (_req, res) => {
    res.json(snapshot().status);
  });

  app.get('/api/v1/status-simple', (_req, res) => {
    const { status } = snapshot();
    const down = status.services.filter((s) => s.status !== 'running').length;
    const body: StatusSimpleResponse = {
      status: evaluateOverallHealth(status.system, status.services),
      timestamp: status.timestamp,
      cpu_usage_percent: status.system.cpu_usage_percent,
      memory_usage_percent: status.system.memory_usage_percent,
      disk_usage_percent: status.system.disk_usage_percent,
      load_one_minute: status.system.load_average.one_minute,
      services_down: down,
      services_total: status.services.length,
    };
    res.json(body);
  });

  app.get('/api/v1/system', (_req, res) => {
    res.json(snapshot().system);
  });

  app.get('/api/v1/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  app.get('/metrics', async (_req, res, next) => {
    try {
      const text = await registry.metrics();
      res.type(registry.contentType).send(text);
    } catch (err) {
      next(err);
    }
  });

  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
