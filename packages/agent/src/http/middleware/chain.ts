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
      // As in app.use(a, b, c), next('route') just goes on to the next
      // handler: it must never skip one (in the agent the gates are a chain).
      if (err !== undefined && err !== null && err !== 'route') return next(err);
      const handler = handlers[i++];
      if (!handler) return next();
      try {
        const result: unknown = handler(req, res, step);
        // Like Express 5: any thenable, and a rejection without a reason is still an error.
        if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
          (result as PromiseLike<unknown>).then(undefined, (e: unknown) => next(e ?? new Error('Rejected promise')));
        }
      } catch (e) {
        next(e);
      }
    };
    step();
  };
}
