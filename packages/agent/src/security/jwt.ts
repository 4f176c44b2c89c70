import type { Algorithm } from 'jsonwebtoken';
import { ROLES, type Principal, type Role } from './roles';

export interface JwtConfig {
  /** HS256 shared secret, or a PEM public key for RS256/ES256. */
  readonly key: string;
  readonly algorithms: readonly Algorithm[];
  readonly issuer: string;
  readonly audience: string;
}

// Loaded on the first token, not at start: most agents use API keys only, and
// jsonwebtoken with its 59 modules is ~2 MB of RSS they would carry for nothing.
let jsonwebtoken: typeof import('jsonwebtoken') | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jwtLib = () => (jsonwebtoken ??= require('jsonwebtoken') as typeof import('jsonwebtoken'));

/** Loads the JWT library now: an agent configured for tokens fails at start, not with a 401 per token. */
export function loadJwtLibrary(): void {
  jwtLib();
}

/** A compact JWS: three base64url parts. Anything else is treated as an API key. */
export const looksLikeJwt = (s: string) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(s);

/**
 * Verifies a bearer token: signature with a pinned algorithm list (no "none",
 * no algorithm confusion), issuer, audience, expiry (required), and a role
 * claim naming one of our roles. Returns null for anything invalid.
 */
export function verifyJwt(token: string, cfg: JwtConfig, now: Date = new Date()): Principal | null {
  try {
    const claims = jwtLib().verify(token, cfg.key, {
      algorithms: [...cfg.algorithms],
      issuer: cfg.issuer,
      audience: cfg.audience,
      clockTimestamp: Math.floor(now.getTime() / 1000),
      clockTolerance: 30,
      complete: false,
    });
    if (typeof claims !== 'object' || claims === null) return null;
    if (typeof claims.exp !== 'number') return null;
    const role = (claims as { role?: unknown }).role;
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) return null;
    const sub = typeof claims.sub === 'string' && claims.sub.length > 0 ? claims.sub : 'unknown';
    return { id: `jwt:${sub.slice(0, 64)}`, role: role as Role, via: 'jwt' };
  } catch {
    return null;
  }
}
