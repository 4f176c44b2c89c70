/** Why a command request was refused before anything ran. */
export type RejectionCode = 'unknown_command' | 'invalid_params' | 'path_not_allowed' | 'custom_commands_disabled';

/**
 * A request the catalogue refused. A named class because the HTTP layer
 * branches on it (400/403/404 by `code`) and the audit log records `param`.
 * Messages never echo the rejected value: it may be 10 kB or hold terminal
 * escapes, and the caller already knows what it sent.
 */
export class CommandRejected extends Error {
  override name = 'CommandRejected';
  readonly code: RejectionCode;
  readonly param?: string;

  constructor(code: RejectionCode, message: string, opts: { param?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    if (opts.param !== undefined) this.param = opts.param;
  }
}
