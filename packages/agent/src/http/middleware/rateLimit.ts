import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { AuditSink } from '../auditSink';

/**
 * The spec's "100 requests per minute window", per client address (IPv6
 * clients grouped by /56, express-rate-limit's default, so one host cannot
 * rotate through its own prefix). Standard RateLimit headers and Retry-After.
 */
export function rateLimiter(perMinute: number, audit: AuditSink): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // Load-balancer health checks are public and cheap; they must not eat the budget.
    skip: (req) => req.path === '/api/v1/health',
    handler: (req, res, _next, options) => {
      const info = (req as { rateLimit?: { used: number; limit: number; resetTime?: Date } }).rateLimit;
      // Audit the first refusal of a window, not every one: a flood must not become an audit-log flood.
      if (info && info.used === info.limit + 1) {
        void audit.append({
          actor: 'anonymous',
          ip: req.ip ?? '',
          action: 'http',
          target: `${req.method} ${req.path}`,
          result: 'denied',
          detail: 'rate_limited',
        });
      }
      const retry = res.getHeader('Retry-After');
      res.status(options.statusCode).json({
        error: {
          code: 'rate_limited',
          message: `more than ${perMinute} requests per minute from ${req.ip}; retry after ${retry ?? 60} s`,
        },
      });
    },
  });
}
