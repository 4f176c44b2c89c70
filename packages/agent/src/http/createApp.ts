import express from 'express';
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  agentOpenApiDocument,
  evaluateOverallHealth,
  type HealthResponse,
  type MetricsHistoryResponse,
  type StatusSimpleResponse,
} from '@viworks/protocol';
import type { Sampler, Snapshot } from '../sampling/sampler';
import { ipInRanges, type IpRange } from '../security/ipRanges';
import type { JwtConfig } from '../security/jwt';
import type { KeyStore } from '../security/keyStore';
import type { AuditSink } from './auditSink';
import { authenticate, requireRole } from './middleware/authenticate';
import { errorHandler, HttpError, notFound } from './middleware/errors';
import { ipFilter } from './middleware/ipFilter';
import { rateLimiter } from './middleware/rateLimit';

export interface SecurityOptions {
  keys: KeyStore;
  jwt: JwtConfig | null;
  insecureNoAuth: boolean;
  allowedIps: readonly IpRange[];
  trustedProxies: readonly IpRange[];
  rateLimitPerMinute: number;
  bodyLimitBytes: number;
}

export interface AppDeps {
  sampler: Sampler;
  registry: Registry;
  logger: Logger;
  version: string;
  /** When the agent process started (for /health uptime). */
  startedAt: Date;
  security: SecurityOptions;
  audit: AuditSink;
  /** Further route modules (administration, container sessions), mounted after the read-only API. */
  extraRoutes?: ReadonlyArray<(router: express.Router) => void>;
  now?: () => Date;
}

/** Builds the agent's HTTP API. Never listens: main.ts does. */
export function createApp(deps: AppDeps): express.Express {
  const { sampler, registry, version, startedAt, security, audit } = deps;
  const now = deps.now ?? (() => new Date());
  const openapi = agentOpenApiDocument(version);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // X-Forwarded-For is believed only from the proxies we were told to trust.
  app.set('trust proxy', (addr: string) => ipInRanges(addr, security.trustedProxies));

  app.use(ipFilter(security.allowedIps, audit));
  app.use(rateLimiter(security.rateLimitPerMinute, audit));
  app.use(express.json({ limit: security.bodyLimitBytes, strict: true }));
  app.use(authenticate({ keys: security.keys, jwt: security.jwt, insecureNoAuth: security.insecureNoAuth, audit }));

  const viewer = requireRole('viewer', audit);
  const snapshot = (): Snapshot => {
    const s = sampler.latest();
    if (!s) throw new HttpError(503, 'not_ready', 'the agent has not finished its first sample yet');
    return s;
  };

  // Public: load balancers and humans reading the docs.
  app.get('/api/v1/health', (_req, res) => {
    const body: HealthResponse = {
      status: sampler.latest() ? 'healthy' : 'starting',
      timestamp: now().toISOString(),
      version,
      uptime: Math.max(0, Math.floor((now().getTime() - startedAt.getTime()) / 1000)),
    };
    res.json(body);
  });
  app.get('/api/v1/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  // A snapshot is read many times between samples: serialise it once.
  const serialised = new WeakMap<object, string>();
  const sendCached = (res: express.Response, value: object) => {
    let text = serialised.get(value);
    if (text === undefined) {
      text = JSON.stringify(value);
      serialised.set(value, text);
    }
    res.type('application/json').send(text);
  };

  app.get('/api/v1/status', viewer, (_req, res) => {
    sendCached(res, snapshot().status);
  });

  app.get('/api/v1/status-simple', viewer, (_req, res) => {
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

  app.get('/api/v1/system', viewer, (_req, res) => {
    sendCached(res, snapshot().system);
  });

  const HistoryQuery = z
    .object({
      since: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2025-09-03T09:00:00Z' }),
      limit: z.coerce.number().int('must be a whole number').min(1).max(2000).default(500),
    })
    .strict();

  app.get('/api/v1/metrics/history', viewer, (req, res) => {
    const q = HistoryQuery.safeParse(req.query);
    if (!q.success) {
      const issue = q.error.issues[0]!;
      throw new HttpError(400, 'invalid_query', `${issue.path.join('.') || 'query'}: ${issue.message}`);
    }
    const since = new Date(q.data.since);
    if (since.getTime() > now().getTime() + 300_000) throw new HttpError(400, 'invalid_query', 'since: is in the future');
    const history = sampler.history;
    const oldest = history.oldest();
    const page = history.after(since, q.data.limit);
    const body: MetricsHistoryResponse = {
      agent_id: snapshot().status.agent_id,
      samples: page.samples,
      next_since: page.more ? page.samples.at(-1)!.timestamp : null,
      oldest: oldest?.timestamp ?? null,
      complete: oldest !== null && Date.parse(oldest.timestamp) <= since.getTime(),
    };
    res.json(body);
  });

  app.get('/metrics', viewer, async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });

  for (const mount of deps.extraRoutes ?? []) {
    const router = express.Router();
    mount(router);
    app.use(router);
  }

  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
