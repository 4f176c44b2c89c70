import type { RequestHandler } from 'express';
import { ipInRanges, type IpRange } from '../../security/ipRanges';
import type { AuditSink } from '../auditSink';

/**
 * Runs before authentication: a client outside the allow-list learns nothing,
 * not even whether its key is valid. An empty list allows every address.
 */
export function ipFilter(allowed: readonly IpRange[], audit: AuditSink): RequestHandler {
  return (req, res, next) => {
    if (allowed.length === 0) return next();
    const ip = req.ip ?? req.socket.remoteAddress ?? '';
    if (ipInRanges(ip, allowed)) return next();
    void audit.append({ actor: 'anonymous', ip, action: 'http', target: `${req.method} ${req.path}`, result: 'denied', detail: 'ip_not_allowed' });
    res.status(403).json({ error: { code: 'ip_not_allowed', message: `address ${ip} is not in the allow-list` } });
  };
}
