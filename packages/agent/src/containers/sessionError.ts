/**
 * A session action refused or failed in a way the caller should see: the route
 * maps it to `{ error: { code, message } }` with this status. 4xx means nothing
 * was changed.
 */
export class SessionError extends Error {
  override name = 'SessionError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// Errors that mean the engine is not there (socket missing, refused, dropped)
// rather than that it said no.
const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EACCES', 'ETIMEDOUT', 'ENOTCONN', 'EHOSTUNREACH']);

export function isDockerUnreachable(err: unknown): boolean {
  const e = err as { code?: unknown; statusCode?: unknown } | null;
  return Boolean(e && typeof e.code === 'string' && UNREACHABLE.has(e.code) && e.statusCode === undefined);
}

/** docker-modem puts the engine's HTTP status on statusCode and its message in json.message. */
export function dockerStatus(err: unknown): number | null {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : null;
}

export function dockerMessage(err: unknown): string {
  const e = err as { json?: { message?: unknown }; reason?: unknown; message?: unknown } | null;
  const m = e?.json?.message ?? e?.message ?? e?.reason ?? String(err);
  return String(m).replace(/^\(HTTP code \d+\)\s*/, '').slice(0, 500);
}

/** Turns a failed engine call into a SessionError; `what` says what was being done. */
export function fromDocker(err: unknown, what: string, socket = 'the Docker socket'): SessionError {
  if (err instanceof SessionError) return err;
  if (isDockerUnreachable(err)) {
    return new SessionError(503, 'docker_unavailable', `the Docker engine is not answering at ${socket} (${(err as { code: string }).code}) while trying to ${what}`, { cause: err });
  }
  const status = dockerStatus(err);
  if (status === 404) return new SessionError(404, 'not_found', `${what}: ${dockerMessage(err)}`, { cause: err });
  return new SessionError(502, 'docker_error', `the Docker engine refused to ${what}: ${dockerMessage(err)}`, { cause: err });
}

/** The engine could not bind a host port ("port is already allocated", "address already in use"). */
export function isPortBindFailure(err: unknown): boolean {
  return /port is already allocated|address already in use|bind for .* failed/i.test(dockerMessage(err));
}
