import express, { type RequestHandler } from 'express';
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
import { authenticate, principalOf, requireRole } from './middleware/authenticate';
import { chain } from './middleware/chain';
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
  // Built on first request: generating it allocates a few MB that most agents never need.
  let openapi: ReturnType<typeof agentOpenApiDocument> | undefined;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // X-Forwarded-For is believed only from the proxies we were told to trust.
  app.set('trust proxy', (addr: string) => ipInRanges(addr, security.trustedProxies));

  // One router layer for the three gates, in this order: a client outside
  // the allow-list learns nothing, a flood is cut before any key is hashed.
  // (Each Express layer costs ~1 KB of garbage per request; at 1,000 req/s
  // that is what sets the agent's p99 and RSS, bench/agent.)
  // The read-only GET endpoints are looked up in a table by the same layer
  // rather than each being an Express route: they take almost all traffic
  // (collectors, dashboards, Prometheus), and skipping the router's
  // per-route matching and dispatch halves the garbage a request makes.
  const readRoutes = new Map<string, RequestHandler>();
  const routeKey = (path: string) => (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path).toLowerCase();
  const get = (path: string, ...handlers: RequestHandler[]) => readRoutes.set(routeKey(path), chain(...handlers));
  app.use(
    chain(
      ipFilter(security.allowedIps, audit),
      rateLimiter(security.rateLimitPerMinute, audit),
      authenticate({ keys: security.keys, jwt: security.jwt, insecureNoAuth: security.insecureNoAuth, audit }),
      (req, res, next) => {
        // Matched as Express routes match by default: any case, one trailing slash allowed.
        const route = req.method === 'GET' || req.method === 'HEAD' ? readRoutes.get(routeKey(req.path)) : undefined;
        if (route) route(req, res, next);
        else next();
      },
    ),
  );
  // Bodies are parsed only on the routers that take them, and only for a
  // caller with a role: an anonymous POST reaches the route's role check
  // (401) without us reading what it sent.
  const parseJson = express.json({ limit: security.bodyLimitBytes, strict: true });
  const jsonBody: RequestHandler = (req, res, next) => (principalOf(res).role ? parseJson(req, res, next) : next());

  const viewer = requireRole('viewer', audit);
  const snapshot = (): Snapshot => {
    const s = sampler.latest();
    if (!s) throw new HttpError(503, 'not_ready', 'the agent has not finished its first sample yet');
    return s;
  };

  // Public: load balancers and humans reading the docs.
  get('/api/v1/health', (_req, res) => {
    const body: HealthResponse = {
      status: sampler.latest() ? 'healthy' : 'starting',
      timestamp: now().toISOString(),
      version,
      uptime: Math.max(0, Math.floor((now().getTime() - startedAt.getTime()) / 1000)),
    };
    res.json(body);
  });
  get('/api/v1/openapi.json', (_req, res) => {
    res.json((openapi ??= agentOpenApiDocument(version)));
  });

  // A snapshot is read many times between samples: serialise it once.
  const serialised = new WeakMap<object, Buffer>();
  const sendCached = (res: express.Response, value: object) => {
    let bytes = serialised.get(value);
    if (bytes === undefined) {
      bytes = Buffer.from(JSON.stringify(value));
      serialised.set(value, bytes);
    }
    res.type('application/json').send(bytes);
  };

  get('/api/v1/status', viewer, (_req, res) => {
    sendCached(res, snapshot().status);
  });

  get('/api/v1/status-simple', viewer, (_req, res) => {
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

  get('/api/v1/system', viewer, (_req, res) => {
    sendCached(res, snapshot().system);
  });

  const HistoryQuery = z
    .object({
      since: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2025-09-03T09:00:00Z' }),
      limit: z.coerce.number().int('must be a whole number').min(1).max(2000).default(500),
    })
    .strict();

  get('/api/v1/metrics/history', viewer, (req, res) => {
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

  get('/metrics', viewer, async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });

  for (const mount of deps.extraRoutes ?? []) {
    const router = express.Router();
    router.use(jsonBody);
    mount(router);
    app.use(router);
  }

  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
