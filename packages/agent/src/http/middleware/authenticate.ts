import type { Request, RequestHandler, Response } from 'express';
import type { KeyStore } from '../../security/keyStore';
import { loadJwtLibrary, looksLikeJwt, verifyJwt, type JwtConfig } from '../../security/jwt';
import { ANONYMOUS, roleAllows, type Principal, type Role } from '../../security/roles';
import type { AuditSink } from '../auditSink';

export interface AuthOptions {
  keys: KeyStore;
  jwt: JwtConfig | null;
  /** Development only: requests without credentials act as admin. */
  insecureNoAuth: boolean;
  audit: AuditSink;
}

const INSECURE: Principal = Object.freeze({ id: 'insecure-dev', role: 'admin', via: 'insecure-dev' });

export function principalOf(res: Response): Principal {
  return (res.locals.principal as Principal | undefined) ?? ANONYMOUS;
}

function presentedCredential(req: Request): string | null {
  const auth = req.get('authorization');
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? m[1]! : auth; // a malformed header is still a (bad) credential, not "none"
  }
  return req.get('x-api-key') ?? null;
}

function unauthorized(res: Response) {
  res.set('WWW-Authenticate', 'Bearer realm="viworks-agent"');
  // One body for missing, unknown and wrong credentials: nothing to tell them apart.
  res.status(401).json({ error: { code: 'unauthorized', message: 'a valid API key or bearer token is required' } });
}

/** Works out who is calling. A credential that does not verify is refused here. */
export function authenticate(opts: AuthOptions): RequestHandler {
  if (opts.jwt) loadJwtLibrary();
  return (req, res, next) => {
    const presented = presentedCredential(req);
    if (presented === null) {
      res.locals.principal = opts.insecureNoAuth ? INSECURE : ANONYMOUS;
      return next();
    }
    let principal: Principal | null = null;
    if (opts.jwt && looksLikeJwt(presented)) principal = verifyJwt(presented, opts.jwt);
    if (!principal) {
      const key = opts.keys.authenticate(presented);
      if (key) principal = { id: key.id, role: key.role, via: 'api-key' };
    }
    if (!principal) {
      void opts.audit.append({ actor: 'anonymous', ip: req.ip ?? '', action: 'http', target: `${req.method} ${req.path}`, result: 'denied', detail: 'invalid_credential' });
      return unauthorized(res);
    }
    res.locals.principal = principal;
    next();
  };
}

/** 401 without a credential, 403 with one that lacks the role. */
export function requireRole(role: Role, audit: AuditSink): RequestHandler {
  return (req, res, next) => {
    const p = principalOf(res);
    if (!p.role) {
      void audit.append({ actor: p.id, ip: req.ip ?? '', action: 'http', target: `${req.method} ${req.path}`, result: 'denied', detail: 'no_credential' });
      return unauthorized(res);
    }
    if (!roleAllows(p.role, role)) {
      void audit.append({ actor: p.id, ip: req.ip ?? '', action: 'http', target: `${req.method} ${req.path}`, result: 'denied', detail: `role ${p.role} lacks ${role}` });
      res.status(403).json({ error: { code: 'forbidden', message: `this needs the ${role} role; key "${p.id}" has ${p.role}` } });
      return;
    }
    next();
  };
}
