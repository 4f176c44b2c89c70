/**
 * Roles, least to most privileged. Each includes everything below it:
 * viewer reads, operator also controls services, logs and sessions,
 * admin also runs commands and reads the audit log.
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}

/** Who made a request, as written to logs and the audit trail (never the key itself). */
export interface Principal {
  /** Key id from the key file, `jwt:<sub>` for a token, or 'anonymous'. */
  readonly id: string;
  readonly role: Role | null;
  readonly via: 'api-key' | 'jwt' | 'none' | 'insecure-dev';
}

export const ANONYMOUS: Principal = Object.freeze({ id: 'anonymous', role: null, via: 'none' });
