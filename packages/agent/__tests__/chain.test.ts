import express from 'express';
import request from 'supertest';
import { chain } from '../src/http/middleware/chain';

/** An app whose only layer is chain(...handlers), with a JSON error handler after it. */
function appWith(...handlers: express.RequestHandler[]) {
  const app = express();
  app.use(chain(...handlers));
  app.use((_req: express.Request, res: express.Response) => void res.status(404).json({ fell: 'through' }));
  app.use(((err, _req, res, _next) => void res.status(500).json({ error: String((err as Error).message ?? err) })) as express.ErrorRequestHandler);
  return app;
}

describe('chain', () => {
  test('runs the handlers in order and falls through when all call next', async () => {
    const seen: string[] = [];
    const app = appWith(
      (_q, _s, next) => (seen.push('a'), next()),
      (_q, _s, next) => (seen.push('b'), next()),
    );
    await request(app).get('/').expect(404, { fell: 'through' });
    expect(seen).toEqual(['a', 'b']);
  });

  test('a handler that answers stops the chain', async () => {
    const seen: string[] = [];
    const app = appWith(
      (_q, res) => void (seen.push('a'), res.json({ by: 'a' })),
      () => void seen.push('b'),
    );
    await request(app).get('/').expect(200, { by: 'a' });
    expect(seen).toEqual(['a']);
  });

  test('thrown errors, rejected promises and next(err) all reach the error handler; later handlers do not run', async () => {
    let later = 0;
    const after: express.RequestHandler = () => void later++;
    await request(appWith(() => { throw new Error('thrown'); }, after)).get('/').expect(500, { error: 'thrown' });
    await request(appWith(async () => { throw new Error('rejected'); }, after)).get('/').expect(500, { error: 'rejected' });
    await request(appWith((_q, _s, next) => next(new Error('passed')), after)).get('/').expect(500, { error: 'passed' });
    expect(later).toBe(0);
  });

  test("next('route') goes on to the next handler, as in app.use(a, b): a gate is never skipped", async () => {
    const seen: string[] = [];
    const app = appWith(
      (_q, _s, next) => (seen.push('a'), next('route')),
      (_q, _s, next) => (seen.push('gate'), next()),
    );
    await request(app).get('/').expect(404, { fell: 'through' });
    expect(seen).toEqual(['a', 'gate']);
  });

  test('a promise rejected without a reason is still an error', async () => {
    let later = 0;
    await request(appWith(() => Promise.reject(undefined), () => void later++)).get('/').expect(500, { error: 'Rejected promise' });
    expect(later).toBe(0);
  });
});
