import express, { type ErrorRequestHandler } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ErrorHandler } from '../../src/errors/error-handler.js';
import { route } from '../../src/http/route.js';
import { RouteTable } from '../../src/http/route-table.js';
import { createLogger } from '../../src/infra/logger.js';

const answer = z.strictObject({ id: z.uuid(), name: z.string() });
const ID = '7f0c3c1e-8f7a-4c1e-9a55-2b0c1d3e4f5a';

/** One declared route over the real route table and error handler, returning what `body` gives. */
function appWith(body: unknown, checkResponses: boolean) {
  const table = new RouteTable({ authLimit: (_req, _res, next) => next(), checkResponses });
  const app = express();
  app.use(
    '/things',
    table.router('/things', [
      route({ method: 'GET', path: '/:id', access: 'public', summary: 'A thing', request: { params: z.strictObject({ id: z.uuid() }) }, response: { status: 200, description: 'The thing', schema: answer } }, () => body as z.input<typeof answer>),
    ]),
  );
  const errors = new ErrorHandler(createLogger({ level: 'silent', format: 'json' }), { exposeDebug: false });
  const handle: ErrorRequestHandler = (error, req, res, _next) => errors.handleRequestError(error, req, res);
  app.use(handle);
  return { app, errors, table };
}

describe('route declarations', () => {
  it('answer with the declared status and a body that matches the response schema', async () => {
    const { app } = appWith({ id: ID, name: 'kept' }, true);
    const res = await request(app).get(`/things/${ID}`).expect(200);
    expect(res.body).toEqual({ id: ID, name: 'kept' });
  });

  it('turn a handler that returns more than it declares (a leaked field) into a 500 in development and tests', async () => {
    const { app, errors } = appWith({ id: ID, name: 'kept', passwordHash: 'secret' }, true);
    const res = await request(app).get(`/things/${ID}`).expect(500);
    expect(JSON.stringify(res.body)).not.toContain('secret');
    expect(errors.stats.snapshot().byCode).toEqual({ INTERNAL_ERROR: 1 });
  });

  it('do not spend the check in production', async () => {
    const { app } = appWith({ id: ID, name: 'kept', extra: 1 }, false);
    await request(app).get(`/things/${ID}`).expect(200);
  });

  it('validate params before the handler runs, and list the route with its full path', async () => {
    const { app, table } = appWith({ id: ID, name: 'kept' }, true);
    const res = await request(app).get('/things/not-a-uuid').expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(table.routes.map((entry) => `${entry.method} ${entry.path}`)).toEqual(['GET /things/:id']);
  });
});
