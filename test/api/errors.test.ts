import type { Router } from 'express';
import request from 'supertest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { parseInput } from '../../src/middleware/validate.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { capturingLogger } from '../helpers/logger.js';

const MONITORING_TOKEN = 'monitoring-token-for-tests-0123456789';
const SECRET_MESSAGE = 'password=hunter2 token=eyJhbGciOi SELECT * FROM users WHERE email = $1 at /srv/confidant/src/modules/users/users.service.ts:42:7';

const profileSchema = { body: z.object({ name: z.string().min(1), age: z.number().int().min(0) }) };

/** Test-only routes, mounted by createApp just before the 404. */
function diagnosticRoutes(router: Router): void {
  router.get('/test/boom/:id', function throwsSynchronously() {
    throw new Error(SECRET_MESSAGE);
  });
  router.get('/test/async-boom', async function rejects() {
    await Promise.resolve();
    throw new TypeError(SECRET_MESSAGE);
  });
  router.post('/test/profile', function echo(req, res) {
    res.json(parseInput(req, profileSchema).body);
  });
}

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: { MONITORING_TOKEN }, extraRoutes: diagnosticRoutes });
});
afterAll(() => t.close());

const stats = () => request(t.app).get('/api/errors/stats').set('Authorization', `Bearer ${MONITORING_TOKEN}`).expect(200);

function expectNoInternals(body: unknown): void {
  const text = JSON.stringify(body);
  for (const leak of ['hunter2', 'eyJhbGciOi', 'SELECT', 'FROM users', '/srv/', '.ts', 'stack', 'TypeError', 'Error:']) {
    expect(text).not.toContain(leak);
  }
  expect(body).not.toHaveProperty('debug');
}

describe('unexpected errors', () => {
  it('a thrown error becomes a 500 problem without message, stack, SQL or path', async () => {
    const res = await request(t.app).get('/test/boom/17').set('X-Request-Id', 'boom-sync-1').expect(500);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toEqual({
      type: 'urn:confidant:problem:internal-error',
      title: 'Internal server error',
      status: 500,
      detail: 'An unexpected error occurred.',
      code: 'INTERNAL_ERROR',
      requestId: 'boom-sync-1',
    });
    expectNoInternals(res.body);
  });

  it('is counted in GET /api/errors/stats by class, code, status and route pattern, with its request id', async () => {
    const before = (await stats()).body;
    await request(t.app).get('/test/boom/99').set('X-Request-Id', 'boom-sync-2').expect(500);
    const after = (await stats()).body;

    expect(after.total).toBe(before.total + 1);
    expect(after.byClass.unknown).toBe((before.byClass.unknown ?? 0) + 1);
    expect(after.byCode.INTERNAL_ERROR).toBe((before.byCode.INTERNAL_ERROR ?? 0) + 1);
    expect(after.byStatus['500']).toBe((before.byStatus['500'] ?? 0) + 1);
    expect(after.byRoute['GET /test/boom/:id']).toBe((before.byRoute['GET /test/boom/:id'] ?? 0) + 1);
    expect(Object.keys(after.byRoute).join()).not.toContain('/test/boom/99');
    expect(after.recent[0]).toEqual({
      at: expect.any(String),
      requestId: 'boom-sync-2',
      status: 500,
      code: 'INTERNAL_ERROR',
      errorClass: 'unknown',
      method: 'GET',
      route: '/test/boom/:id',
    });
    expectNoInternals(after);
  });

  it('a rejected promise in an async handler is handled the same way (Express 5)', async () => {
    const res = await request(t.app).get('/test/async-boom').set('X-Request-Id', 'boom-async-1').expect(500);
    expect(res.body).toMatchObject({ code: 'INTERNAL_ERROR', status: 500, requestId: 'boom-async-1' });
    expectNoInternals(res.body);
    const { body } = await stats();
    expect(body.recent[0]).toMatchObject({ requestId: 'boom-async-1', route: '/test/async-boom', code: 'INTERNAL_ERROR' });
  });
});

describe('validation through parseInput()', () => {
  it('accepts a valid body and hands the parsed value to the controller', async () => {
    const res = await request(t.app).post('/test/profile').send({ name: 'Ada', age: 36, extra: 'dropped' }).expect(200);
    expect(res.body).toEqual({ name: 'Ada', age: 36 });
  });

  it('answers a zod failure with 400 VALIDATION_FAILED and a path and message per field', async () => {
    const res = await request(t.app).post('/test/profile').send({ name: '', age: 'old' }).expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', requestId: res.headers['x-request-id'] });
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        { path: 'body.name', message: expect.any(String) },
        { path: 'body.age', message: expect.any(String) },
      ]),
    );
    expect(res.body.errors).toHaveLength(2);
  });

  it('treats a missing body as an empty object and names the missing fields', async () => {
    const res = await request(t.app).post('/test/profile').expect(400);
    expect(res.body.errors.map((error: { path: string }) => error.path).sort()).toEqual(['body.age', 'body.name']);
  });

  it('answers a body that is not JSON with 415', async () => {
    const res = await request(t.app).post('/test/profile').set('Content-Type', 'text/plain').send('name=Ada&age=36').expect(415);
    expect(res.body).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  it('counts validation errors under the validation class', async () => {
    const before = (await stats()).body;
    await request(t.app).post('/test/profile').send({}).expect(400);
    const after = (await stats()).body;
    expect(after.byClass.validation).toBe((before.byClass.validation ?? 0) + 1);
    expect(after.byCode.VALIDATION_FAILED).toBe((before.byCode.VALIDATION_FAILED ?? 0) + 1);
    expect(after.byRoute['POST /test/profile']).toBe((before.byRoute['POST /test/profile'] ?? 0) + 1);
  });
});

describe('the recent-errors ring', () => {
  it('keeps only the last 100 errors, newest first', async () => {
    const { app } = createApp({ config: t.config, sequelize: t.sequelize });
    for (let i = 1; i <= 105; i += 1) {
      await request(app).get('/api/nowhere').set('X-Request-Id', `ring-${i}`).expect(404);
    }
    const res = await request(app).get('/api/errors/stats').set('Authorization', `Bearer ${MONITORING_TOKEN}`).expect(200);
    expect(res.body.total).toBe(105);
    expect(res.body.byRoute['GET (unmatched)']).toBe(105);
    expect(res.body.recent).toHaveLength(100);
    expect(res.body.recent[0].requestId).toBe('ring-105');
    expect(res.body.recent[99].requestId).toBe('ring-6');
  });
});

describe('GET /api/errors/stats access', () => {
  /** A refusal is a 401 problem that gives away none of the statistics. */
  function expectRefused(res: request.Response): void {
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 401, code: expect.stringMatching(/^[A-Z_]+$/) });
    for (const field of ['byClass', 'byCode', 'byRoute', 'recent', 'total']) expect(res.body).not.toHaveProperty(field);
  }

  it('is refused without a token', async () => {
    const res = await request(t.app).get('/api/errors/stats');
    expectRefused(res);
    expect(res.body.code).toBe('MONITORING_ACCESS_REQUIRED');
  });

  it.each([
    ['a wrong token', `Bearer ${MONITORING_TOKEN.slice(0, -1)}x`],
    ['a longer token', `Bearer ${MONITORING_TOKEN}x`],
    ['a prefix of the token', `Bearer ${MONITORING_TOKEN.slice(0, 16)}`],
    ['the token without the Bearer scheme', MONITORING_TOKEN],
    ['another scheme', `Basic ${MONITORING_TOKEN}`],
  ])('is refused with %s', async (_name, authorization) => {
    expectRefused(await request(t.app).get('/api/errors/stats').set('Authorization', authorization));
  });

  it('is refused to everyone when no MONITORING_TOKEN is configured', async () => {
    const config = loadConfig({ NODE_ENV: 'test' });
    const { app } = createApp({ config, sequelize: t.sequelize });
    expectRefused(await request(app).get('/api/errors/stats'));
    expectRefused(await request(app).get('/api/errors/stats').set('Authorization', `Bearer ${MONITORING_TOKEN}`));
    expectRefused(await request(app).get('/api/errors/stats').set('Authorization', 'Bearer undefined'));
  });

  it('is allowed with the right bearer token', async () => {
    const res = await stats();
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({
      since: expect.any(String),
      total: expect.any(Number),
      byClass: expect.any(Object),
      byCode: expect.any(Object),
      byRoute: expect.any(Object),
      byStatus: expect.any(Object),
      recent: expect.any(Array),
    });
  });
});

describe('NODE_ENV and debug details in 5xx bodies', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'confidant-node-env-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  /** An app over the test database, configured from `env` alone, logging into `lines`. */
  function appWith(env: Record<string, string>) {
    const { logger, lines } = capturingLogger();
    const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env });
    const { app } = createApp({ config, sequelize: t.sequelize, logger, extraRoutes: diagnosticRoutes });
    return { app, lines };
  }

  const productionLike = () => ({
    AUTH_SECRET: t.config.secrets.authSecret,
    DATA_ENCRYPTION_KEY: t.config.secrets.dataEncryptionKey,
    CORS_ORIGINS: 'https://app.example.com',
    ...(t.config.database.url && { DATABASE_URL: t.config.database.url }),
  });

  it('adds no debug details when NODE_ENV is unset (development only by default), and warns at start that it looks like production', async () => {
    const { app, lines } = appWith(productionLike());

    const res = await request(app).get('/test/boom/1').expect(500);

    expectNoInternals(res.body);
    const warnings = lines.filter((line) => line.level === 'warn' && line.message.startsWith('NODE_ENV is not set'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/looks like production \(.*AUTH_SECRET, CORS_ORIGINS set\).*Set NODE_ENV=production/);
  });

  it('adds the message and stack under debug only when NODE_ENV=development was set explicitly', async () => {
    const { app, lines } = appWith({ NODE_ENV: 'development' });

    const res = await request(app).get('/test/boom/2').expect(500);

    expect(res.body.debug).toEqual({ message: SECRET_MESSAGE, stack: expect.stringContaining('Error') });
    expect(lines.filter((line) => line.message.includes('looks like production'))).toEqual([]);
  });
});
