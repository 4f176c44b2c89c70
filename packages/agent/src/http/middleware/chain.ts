import type { RequestHandler } from 'express';

/**
 * Runs handlers one after another as a single middleware: what
 * `app.use(a, b, c)` does, without a router layer (and its per-request
 * allocations) for each. An error, thrown or rejected, goes to `next(err)`;
 * a handler that answers without calling on stops the chain.
 */
export function chain(...handlers: readonly RequestHandler[]): RequestHandler {
  return (req, res, next) => {
    let i = 0;
    const step = (err?: unknown): void => {
      // next('route') leaves the chain the way it leaves a route: on to the next layer.
      if (err === 'route') return next();
      if (err !== undefined && err !== null) return next(err);
      const handler = handlers[i++];
      if (!handler) return next();
      try {
        const result: unknown = handler(req, res, step);
        if (result instanceof Promise) result.catch(next);
      } catch (e) {
        next(e);
      }
    };
    step();
  };
}
