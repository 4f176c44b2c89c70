import { SessionRequest } from '@viworks/protocol';
import type { z } from 'zod';
import type { LimitRange, SessionPolicy } from './policy';
import { SessionError } from './sessionError';

/** A spawn request that passed every check that needs no engine. */
export interface SessionSpec {
  readonly username: string;
  readonly sessionId: string;
  readonly image: string;
  readonly memoryBytes: number;
  readonly cpuShares: number;
  readonly pidsLimit: number;
  /** Container TCP ports to publish, ascending, no duplicates. */
  readonly ports: readonly number[];
  readonly env: Readonly<Record<string, string>>;
  readonly readOnlyRoot: boolean;
}

const MiB = 1024 * 1024;

function firstIssue(err: z.ZodError): string {
  const issue = err.issues[0]!;
  return `${issue.path.join('.') || 'body'}: ${issue.message}`;
}

function limit(field: string, value: number | undefined, range: LimitRange, unit = ''): number {
  const v = value ?? range.default;
  if (v < range.min || v > range.max) {
    throw new SessionError(400, 'limit_out_of_range', `${field}: ${v}${unit} is outside the allowed ${range.min}-${range.max}${unit}`);
  }
  return v;
}

/**
 * Pure: checks a spawn body against the policy. Throws SessionError 400 with a
 * code naming the kind of problem (invalid_body, image_not_allowed,
 * limit_out_of_range) and a message naming the field.
 */
export function validateSessionRequest(body: unknown, policy: SessionPolicy): SessionSpec {
  const parsed = SessionRequest.safeParse(body);
  if (!parsed.success) throw new SessionError(400, 'invalid_body', firstIssue(parsed.error));
  const r = parsed.data;
  if (!policy.images.includes(r.image)) {
    const allowed = policy.images.length ? `allowed: ${policy.images.join(', ')}` : 'no image is allow-listed (AGENT_SESSION_IMAGES is empty)';
    throw new SessionError(400, 'image_not_allowed', `image: "${r.image.slice(0, 255)}" is not on the allow-list; ${allowed}`);
  }
  const memoryMb = limit('memory_mb', r.memory_mb, policy.memoryMb, ' MiB');
  const cpuShares = limit('cpu_shares', r.cpu_shares, policy.cpuShares);
  const pidsLimit = limit('pids_limit', r.pids_limit, policy.pidsLimit);
  const requested = r.ports ?? [];
  const ports = [...new Set(requested)].sort((a, b) => a - b);
  if (ports.length !== requested.length) throw new SessionError(400, 'invalid_body', 'ports: a container port is listed twice');
  if (policy.portPool.kind === 'range' && ports.length > policy.portPool.last - policy.portPool.first + 1) {
    throw new SessionError(400, 'limit_out_of_range', `ports: ${ports.length} ports asked for, the pool holds only ${policy.portPool.last - policy.portPool.first + 1}`);
  }
  return {
    username: r.username,
    sessionId: r.session_id,
    image: r.image,
    memoryBytes: memoryMb * MiB,
    cpuShares,
    pidsLimit,
    ports,
    env: r.env ?? {},
    readOnlyRoot: !policy.writableImages.includes(r.image),
  };
}
