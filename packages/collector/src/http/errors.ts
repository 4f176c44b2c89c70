import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Validates req.query; a bad value becomes a 400 naming the parameter. */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  const r = schema.safeParse(query);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const name = issue.path.join('.') || 'query';
    throw new HttpError(400, 'invalid_query', `${name}: ${issue.message}`);
  }
  return r.data;
}

export const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ error: { code: 'not_found', message: `no route for ${req.method} ${req.path}` } });
};

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    if (err instanceof HttpError) {
      res.status(err.status).json({ error: { code: err.code, message: err.message } });
      return;
    }
    const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) logger.error({ err }, 'unhandled error');
    res.status(status).json({
      error: {
        code: status === 500 ? 'internal' : String(err.type ?? 'bad_request').replace(/\./g, '_'),
        message: status === 500 ? 'internal error' : String(err.message),
      },
    });
  };
}
