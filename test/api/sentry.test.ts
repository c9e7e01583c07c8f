import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import * as Sentry from '@sentry/core';
import type { Router } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../src/config/env.js';
import { AppError } from '../../src/errors/app-error.js';
import type { ErrorReporter } from '../../src/errors/error-handler.js';
import { createLogger } from '../../src/infra/logger.js';
import { flushSentry, initSentry, scrubEvent } from '../../src/errors/sentry.js';
import { parseInput } from '../../src/middleware/validate.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

// A JWT-shaped monitoring token: the one bearer token that reaches a route without a session.
const BEARER_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtb25pdG9yaW5nIn0.c2lnbmF0dXJlLW9mLXRoZS10ZXN0LXRva2Vu';
const LEAKED_TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.bGVha2VkLXNpZ25hdHVyZS12YWx1ZQ';
const API_SECRET = 'sk_live_4f9Q2bX7mN1pR8tV3wY6zA0cE5hJ2kL9';
const EMAIL = 'alice@example.com';
const PASSWORD = 'correct-horse-battery-staple-42';
const COOKIE_VALUE = 'refresh-cookie-value-7c1e0b9a';
const SECRETS = [EMAIL, PASSWORD, COOKIE_VALUE, BEARER_TOKEN, LEAKED_TOKEN, API_SECRET, 'eyJhbGci', 'example.com'];

interface Envelope {
  header: Record<string, unknown>;
  items: Array<{ header: { type?: string }; payload: Record<string, unknown> }>;
  text: string;
  path: string;
  encoding: string | undefined;
}

/** A stand-in for Sentry's ingest endpoint; envelopes are newline-delimited JSON. */
function startIngest(): Promise<{ server: Server; envelopes: Envelope[]; dsn: string }> {
  const envelopes: Envelope[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const encoding = req.headers['content-encoding'];
      const text = (encoding === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      const [header = '{}', ...rest] = text.split('\n').filter((line) => line.length > 0);
      const items: Envelope['items'] = [];
      for (let i = 0; i + 1 < rest.length; i += 2) {
        items.push({ header: JSON.parse(rest[i] as string), payload: JSON.parse(rest[i + 1] as string) });
      }
      envelopes.push({ header: JSON.parse(header), items, text, path: req.url ?? '', encoding });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, envelopes, dsn: `http://publickey@127.0.0.1:${port}/1` });
    });
  });
}

function diagnosticRoutes(router: Router): void {
  router.post('/test/sentry-boom/:id', function leaksInItsMessage() {
    throw new Error(`lookup failed for ${EMAIL} with Bearer ${LEAKED_TOKEN} api_key ${API_SECRET}`);
  });
  router.post('/test/sentry-validated', (req, res) => {
    parseInput(req, { body: z.object({ age: z.number().int() }) });
    res.status(204).end();
  });
}

const silent = createLogger({ level: 'silent', format: 'json' });
let ingest: Awaited<ReturnType<typeof startIngest>>;
let t: TestApp;

beforeAll(async () => {
  ingest = await startIngest();
  t = await createTestApp({ env: { MONITORING_TOKEN: BEARER_TOKEN }, extraRoutes: diagnosticRoutes });
});

afterAll(async () => {
  await Sentry.close(2_000);
  await t?.close();
  await new Promise((resolve) => ingest?.server.close(resolve));
});

function boom(id: string) {
  return request(t.app)
    .post(`/test/sentry-boom/${id}?email=${encodeURIComponent(EMAIL)}`)
    .set('X-Request-Id', id)
    .set('Authorization', `Bearer ${BEARER_TOKEN}`)
    .set('Cookie', `confidant_refresh=${COOKIE_VALUE}`)
    .send({ email: EMAIL, password: PASSWORD })
    .expect(500);
}

const events = () => ingest.envelopes.filter((envelope) => envelope.items.some((item) => item.header.type === 'event'));

// Sentry's client is process-global: this block runs before any client exists.
describe('without SENTRY_DSN', () => {
  it('initSentry returns undefined, starts no client and nothing is sent', async () => {
    const config = loadConfig({ NODE_ENV: 'test' });
    expect(config.sentryDsn).toBeUndefined();
    expect(initSentry(config, silent)).toBeUndefined();
    expect(Sentry.isInitialized()).toBe(false);

    await boom('no-dsn-1');
    expect(await flushSentry(1_000)).toBe(true);
    expect(ingest.envelopes).toHaveLength(0);
  });
});

describe('with SENTRY_DSN pointing at a local ingest endpoint', () => {
  let reporter: ErrorReporter;
  beforeAll(() => {
    const created = initSentry(loadConfig({ NODE_ENV: 'test', SENTRY_DSN: ingest.dsn, GIT_COMMIT: 'abc1234' }), silent);
    expect(created).toBeTypeOf('function');
    reporter = created!;
    t.context.errorHandler.addReporter(reporter);
  });

  beforeEach(() => {
    ingest.envelopes.length = 0;
  });

  it('sends exactly one event envelope per 5xx, tagged with the request id, route and status', async () => {
    await boom('sentry-req-1');
    expect(await flushSentry(5_000)).toBe(true);

    expect(ingest.envelopes).toHaveLength(1);
    const [envelope] = ingest.envelopes as [Envelope];
    expect(envelope.path).toMatch(/^\/api\/1\/envelope\//);
    expect(envelope.items.map((item) => item.header.type)).toEqual(['event']);
    const event = envelope.items[0]!.payload as {
      tags: Record<string, string>;
      environment: string;
      release: string;
      exception: { values: Array<{ type: string; value: string }> };
    };
    expect(event.tags).toMatchObject({ request_id: 'sentry-req-1', route: '/test/sentry-boom/:id', status: '500', code: 'INTERNAL_ERROR' });
    expect(event.environment).toBe('test');
    expect(event.release).toMatch(/^confidant@\d+\.\d+\.\d+\+abc1234$/);
    expect(event.exception.values.at(-1)).toMatchObject({ type: 'Error', value: expect.stringContaining('lookup failed for [redacted]') });
  });

  it('sends no email, password, cookie, bearer token, body, headers or user', async () => {
    await boom('sentry-req-2');
    await flushSentry(5_000);

    expect(events()).toHaveLength(1);
    const { text, items } = events()[0]!;
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/authorization|cookie|x-csrf-token|ip_address/i);
    const event = items[0]!.payload;
    expect(event).not.toHaveProperty('user');
    expect(event).not.toHaveProperty('request.data');
    expect(event).not.toHaveProperty('request.headers');
    expect(event).not.toHaveProperty('request.cookies');
    expect(event).not.toHaveProperty('request.query_string');
  });

  it('sends one envelope for each of several identical 5xx (no deduplication)', async () => {
    await boom('sentry-req-3');
    await boom('sentry-req-4');
    await flushSentry(5_000);

    const requestIds = events().map((envelope) => (envelope.items[0]!.payload.tags as Record<string, string>).request_id);
    expect(requestIds.sort()).toEqual(['sentry-req-3', 'sentry-req-4']);
    expect(ingest.envelopes).toHaveLength(2);
  });

  it('sends nothing for 4xx: unknown route, validation, bad token', async () => {
    await request(t.app).get('/api/no-such-route').set('X-Request-Id', 'sentry-404').expect(404);
    await request(t.app).post('/test/sentry-validated').send({ age: 'old' }).expect(400);
    await request(t.app).get('/api/users/me').set('Authorization', `Bearer ${LEAKED_TOKEN}`).expect(401);
    await flushSentry(5_000);

    expect(ingest.envelopes).toHaveLength(0);
  });

  it('scrubs user, extra and breadcrumbs that reach the scope', async () => {
    Sentry.withScope((scope) => {
      scope.setUser({ id: 'user-1', email: EMAIL, ip_address: '203.0.113.9' });
      scope.setExtra('login', { email: EMAIL, note: `Bearer ${LEAKED_TOKEN}` });
      scope.addBreadcrumb({ message: `sign-in by ${EMAIL}`, data: { token: API_SECRET } });
      reporter(AppError.internal(new Error(`refresh ${API_SECRET} failed`)), { requestId: 'sentry-scope-1', route: '/x' });
    });
    reporter(AppError.badRequest('BAD', 'ignored'), { requestId: 'sentry-scope-400', route: '/x' });
    await flushSentry(5_000);

    expect(events()).toHaveLength(1);
    const { text, items } = events()[0]!;
    for (const secret of [...SECRETS, '203.0.113.9']) expect(text).not.toContain(secret);
    expect(items[0]!.payload).not.toHaveProperty('user');
    expect(items[0]!.payload.breadcrumbs).toEqual([expect.objectContaining({ message: 'sign-in by [redacted]' })]);
  });
});

describe('scrubEvent', () => {
  it('keeps method and path only of a request and redacts tokens in every text field', () => {
    const event = scrubEvent({
      type: undefined,
      request: {
        method: 'POST',
        url: `https://api.example.test/api/auth/login?email=${EMAIL}#frag`,
        data: { email: EMAIL, password: PASSWORD },
        cookies: { confidant_refresh: COOKIE_VALUE },
        headers: { authorization: `Bearer ${BEARER_TOKEN}`, cookie: COOKIE_VALUE, 'x-csrf-token': API_SECRET },
        query_string: `email=${EMAIL}`,
      },
      user: { email: EMAIL, ip_address: '203.0.113.9' },
      message: `token=${API_SECRET}`,
      contexts: { trace: { trace_id: '5a594d73b45d4207b781d032584f6ea3', span_id: '94a8ce6dc36cfb7b' }, app: { note: EMAIL } },
    });
    expect(event.request).toEqual({ method: 'POST', url: 'https://api.example.test/api/auth/login' });
    expect(event.user).toBeUndefined();
    expect(event.message).toBe('[redacted]');
    expect(event.contexts).toEqual({
      trace: { trace_id: '5a594d73b45d4207b781d032584f6ea3', span_id: '94a8ce6dc36cfb7b' },
      app: { note: '[redacted]' },
    });
  });
});
