import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { steps } from '../../src/middleware/steps.js';

/** An app whose only layer is `steps(...)`, answering with what ran and how it failed. */
function appWith(...handlers: RequestHandler[]) {
  const app = express();
  app.use((_req, res, next) => {
    res.locals.ran = [];
    next();
  });
  app.use(steps(...handlers));
  app.get('/', (_req, res) => res.json({ ran: res.locals.ran }));
  const onError: ErrorRequestHandler = (error: Error, _req, res, _next) => res.status(500).json({ ran: res.locals.ran, error: error.message });
  app.use(onError);
  return app;
}

const step = (name: string): RequestHandler => (_req, res, next) => {
  (res.locals.ran as string[]).push(name);
  next();
};

describe('steps()', () => {
  it('runs every step in order, then the route', async () => {
    const res = await request(appWith(step('a'), step('b'), step('c'))).get('/').expect(200);
    expect(res.body.ran).toEqual(['a', 'b', 'c']);
  });

  it('waits for a step that calls next later, as an async middleware does', async () => {
    const later: RequestHandler = (_req, res, next) => void setTimeout(() => step('later')(_req, res, next), 5);
    const res = await request(appWith(step('a'), later, step('c'))).get('/').expect(200);
    expect(res.body.ran).toEqual(['a', 'later', 'c']);
  });

  it.each([
    ['passes an error to next', ((_req, _res, next) => next(new Error('passed'))) as RequestHandler, 'passed'],
    ['throws', (() => {
      throw new Error('thrown');
    }) as RequestHandler, 'thrown'],
    ['returns a rejected promise', (async () => {
      throw new Error('rejected');
    }) as RequestHandler, 'rejected'],
  ])('skips the remaining steps and reaches the error handler when a step %s', async (_how, failing, message) => {
    const res = await request(appWith(step('a'), failing, step('never'))).get('/').expect(500);
    expect(res.body).toEqual({ ran: ['a'], error: message });
  });
});
