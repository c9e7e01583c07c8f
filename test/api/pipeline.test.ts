import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PROBLEM_JSON = /^application\/problem\+json/;

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

/** The real pipeline built from other settings, on the same freshly migrated database (fresh limiter counters). */
function appWith(env: Record<string, string>): Express {
  const config = loadConfig({ NODE_ENV: 'test', ...env });
  return createApp({ config, sequelize: t.sequelize }).app;
}

/**
 * A production configuration. DATABASE_URL only has to satisfy the production refusal:
 * the app is handed the test database's Sequelize instance, so every query is real.
 */
function productionApp(env: Record<string, string> = {}): Express {
  return appWith({
    NODE_ENV: 'production',
    STORAGE_LOCAL_ALLOWED: 'true',
    DATABASE_URL: t.config.database.url ?? 'postgres://unused@127.0.0.1:1/unused',
    CORS_ORIGINS: 'https://app.example.com',
    AUTH_SECRET: randomBytes(32).toString('hex'),
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    PUBLIC_URL: 'https://api.example.com',
    LOG_LEVEL: 'silent',
    ...env,
  });
}

function cspDirectives(header: string | undefined): string[] {
  return (header ?? '').split(';').map((directive) => directive.trim()).filter(Boolean);
}

/** Sends bytes supertest refuses to send (raw CR/LF) to the app on a real socket; returns what came back. */
async function rawExchange(app: Express, text: string): Promise<string> {
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(text));
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function headerLines(response: string): string[] {
  return response.split('\r\n\r\n', 1)[0]!.split('\r\n').slice(1);
}

describe('security headers', () => {
  it('sets every API header on a JSON route', async () => {
    const res = await request(t.app).get('/health').expect(200);
    expect(cspDirectives(res.headers['content-security-policy'])).toEqual(["default-src 'none'", "frame-ancestors 'none'"]);
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-xss-protection']).toBe('0');
    expect(res.headers['permissions-policy']).toBe('geolocation=(), microphone=(), camera=()');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('sets them on error responses too', async () => {
    const res = await request(t.app).get('/api/no-such-route').expect(404);
    expect(cspDirectives(res.headers['content-security-policy'])).toContain("default-src 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('sends no HSTS outside production (a laptop on plain HTTP must not pin localhost)', async () => {
    const res = await request(t.app).get('/health').expect(200);
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });

  it('sends HSTS with a year, subdomains and preload in production', async () => {
    const res = await request(productionApp()).get('/health').expect(200);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains; preload');
  });
});

describe('HTTPS redirect (production)', () => {
  const behindProxy = () => productionApp({ TRUST_PROXY: '1' });

  it('redirects plain HTTP reported by a trusted proxy with 308 to PUBLIC_URL, ignoring the Host header', async () => {
    const res = await request(behindProxy())
      .post('/api/things?page=2')
      .set('X-Forwarded-Proto', 'http')
      .set('Host', 'evil.example.net')
      .send({ a: 1 })
      .expect(308);
    expect(res.headers.location).toBe('https://api.example.com/api/things?page=2');
    expect(res.headers.location).not.toContain('evil.example.net');
  });

  it('does not redirect a request the proxy reports as HTTPS', async () => {
    const res = await request(behindProxy()).get('/api/things').set('X-Forwarded-Proto', 'https').expect(404);
    expect(res.body.code).toBe('ROUTE_NOT_FOUND');
  });

  it.each(['/health', '/health/ready'])('never redirects the probe %s', async (path) => {
    const res = await request(behindProxy()).get(path).set('X-Forwarded-Proto', 'http').expect(200);
    expect(res.headers.location).toBeUndefined();
  });

  it('redirects nothing when no proxy is trusted (TLS is then the platform’s job)', async () => {
    const res = await request(productionApp({ TRUST_PROXY: '0' })).get('/api/things').set('X-Forwarded-Proto', 'http').expect(404);
    expect(res.headers.location).toBeUndefined();
  });
});

describe('CORS allowlist', () => {
  const app = () => appWith({ CORS_ORIGINS: 'https://app.example.com,https://confidant-pr-*.onrender.com' });
  const corsHeaders = (headers: Record<string, string>) => Object.keys(headers).filter((name) => name.startsWith('access-control-'));

  it('gives an allowed origin its CORS headers with credentials', async () => {
    const res = await request(app()).get('/health').set('Origin', 'https://app.example.com').expect(200);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers.vary).toMatch(/Origin/);
    expect(res.headers['access-control-expose-headers']).toContain('X-Request-Id');
  });

  it('gives any other origin no CORS headers and does not turn the request into an error', async () => {
    const res = await request(app()).get('/health').set('Origin', 'https://evil.example.com').expect(200);
    expect(corsHeaders(res.headers)).toEqual([]);
    expect(res.body.status).toBe('ok');
  });

  it('answers a preflight from an allowed origin', async () => {
    const res = await request(app())
      .options('/api/errors/stats')
      .set('Origin', 'https://app.example.com')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type,authorization')
      .expect(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['access-control-allow-methods']).toContain('POST');
    expect(res.headers['access-control-allow-headers']).toMatch(/Authorization/i);
  });

  it('answers a preflight from a refused origin without CORS headers and without a 5xx', async () => {
    const res = await request(app())
      .options('/api/errors/stats')
      .set('Origin', 'https://evil.example.com')
      .set('Access-Control-Request-Method', 'DELETE');
    expect(res.status).toBeLessThan(500);
    expect(corsHeaders(res.headers)).toEqual([]);
  });

  it('allows a preview deployment matching the anchored pattern', async () => {
    const res = await request(app()).get('/health').set('Origin', 'https://confidant-pr-12.onrender.com').expect(200);
    expect(res.headers['access-control-allow-origin']).toBe('https://confidant-pr-12.onrender.com');
  });

  it.each([
    'https://evil.com/confidant-pr-1.onrender.com',
    'https://confidant-pr-1.onrender.com.evil.com',
    'https://evil.confidant-pr-1.onrender.com',
    'http://confidant-pr-1.onrender.com',
    'https://confidant-pr-.onrender.com',
  ])('refuses %s, which only resembles the pattern', async (origin) => {
    const res = await request(app()).get('/health').set('Origin', origin).expect(200);
    expect(corsHeaders(res.headers)).toEqual([]);
  });
});

describe('request id', () => {
  it('echoes a well-formed incoming id and puts it in error bodies', async () => {
    const res = await request(t.app).get('/api/no-such-route').set('X-Request-Id', 'client-42.retry:1_A').expect(404);
    expect(res.headers['x-request-id']).toBe('client-42.retry:1_A');
    expect(res.body.requestId).toBe('client-42.retry:1_A');
  });

  it('generates a UUID when none is sent, the same in header and body', async () => {
    const res = await request(t.app).get('/api/no-such-route').expect(404);
    expect(res.headers['x-request-id']).toMatch(UUID);
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
  });

  it('accepts 128 characters but replaces a 500-character id with a UUID', async () => {
    const longest = 'a'.repeat(128);
    const accepted = await request(t.app).get('/health').set('X-Request-Id', longest).expect(200);
    expect(accepted.headers['x-request-id']).toBe(longest);

    const res = await request(t.app).get('/api/no-such-route').set('X-Request-Id', 'a'.repeat(500)).expect(404);
    expect(res.headers['x-request-id']).toMatch(UUID);
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
  });

  it.each(['has space', '<script>alert(1)</script>', 'semi;colon', 'ünïcode'])('replaces the id %j', async (id) => {
    const res = await request(t.app).get('/health').set('X-Request-Id', id).expect(200);
    expect(res.headers['x-request-id']).toMatch(UUID);
  });

  it.each([
    ['CR LF', 'abc\r\nX-Injected: yes'],
    ['bare LF', 'abc\nX-Injected: yes'],
    ['bare CR', 'abc\rX-Injected: yes'],
    ['folded line', 'abc\r\n X-Injected: yes'],
  ])('never echoes an id with %s and never splits response headers', async (_name, id) => {
    const response = await rawExchange(t.app, `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n`);
    expect(response).toMatch(/^HTTP\/1\.1 \d{3} /);
    const lines = headerLines(response);
    expect(lines.some((line) => /^x-injected:/i.test(line))).toBe(false);
    // Node either refuses the request outright, or the app saw only a well-formed id: nothing after a CR/LF is echoed.
    for (const line of lines.filter((header) => /^x-request-id:/i.test(header))) {
      expect(line.slice('x-request-id:'.length).trim()).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
      expect(line).not.toMatch(/Injected/i);
    }
  });
});

describe('rate limits', () => {
  async function sendTimes(count: number, send: () => request.Test): Promise<void> {
    for (let i = 0; i < count; i += 1) {
      const res = await send();
      expect(res.status).not.toBe(429);
    }
  }

  function expectRateLimited(res: request.Response, tier: string, max: number): void {
    expect(res.status).toBe(429);
    expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.headers['ratelimit-policy']).toContain(`"${tier}"; q=${max}; w=600`);
    expect(res.headers.ratelimit).toContain(`"${tier}"; r=0`);
    expect(res.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
  }

  it('the global tier answers 429 with standard headers and a problem body after RATE_LIMIT_GLOBAL_MAX', async () => {
    const app = appWith({ RATE_LIMIT_GLOBAL_MAX: '5' });
    for (let i = 0; i < 5; i += 1) {
      const res = await request(app).get('/api/no-such-route').expect(404);
      expect(res.headers['ratelimit-policy']).toContain('"global"; q=5');
      expect(res.headers.ratelimit).toContain(`"global"; r=${4 - i}`);
    }
    expectRateLimited(await request(app).get('/api/no-such-route'), 'global', 5);
  });

  it('never limits /health and /health/ready, even after the limit is reached', async () => {
    const app = appWith({ RATE_LIMIT_GLOBAL_MAX: '2' });
    await request(app).get('/').expect(200);
    await request(app).get('/').expect(200);
    await request(app).get('/').expect(429);
    for (let i = 0; i < 5; i += 1) {
      await request(app).get('/health').expect(200);
      await request(app).get('/health/ready').expect(200);
    }
  });

  it('the write tier counts POST, PUT, PATCH and DELETE and then answers 429', async () => {
    const app = appWith({ RATE_LIMIT_WRITE_MAX: '3' });
    await request(app).post('/api/x').send({}).expect(404);
    await request(app).put('/api/x').send({}).expect(404);
    await request(app).patch('/api/x').send({}).expect(404);
    expectRateLimited(await request(app).delete('/api/x'), 'write', 3);
    // Reads are still served: only the write tier is exhausted.
    await request(app).get('/api/x').expect(404);
  });

  it('the write tier does not count GET, HEAD or OPTIONS', async () => {
    const app = appWith({ RATE_LIMIT_WRITE_MAX: '3' });
    await sendTimes(6, () => request(app).get('/api/x'));
    await sendTimes(3, () => request(app).head('/api/x'));
    await sendTimes(3, () => request(app).options('/api/x'));
    const res = await request(app).post('/api/x').send({}).expect(404);
    expect(res.headers.ratelimit).toContain('"write"; r=2');
  });

  it('a spoofed X-Forwarded-For does not escape the limit when no proxy is trusted', async () => {
    const app = appWith({ RATE_LIMIT_GLOBAL_MAX: '3', TRUST_PROXY: '0' });
    for (let i = 1; i <= 3; i += 1) {
      await request(app).get('/').set('X-Forwarded-For', `203.0.113.${i}`).expect(200);
    }
    expectRateLimited(await request(app).get('/').set('X-Forwarded-For', '203.0.113.99'), 'global', 3);
  });

  it('with TRUST_PROXY=1 different X-Forwarded-For addresses are different clients', async () => {
    const app = appWith({ RATE_LIMIT_GLOBAL_MAX: '2', TRUST_PROXY: '1' });
    await request(app).get('/').set('X-Forwarded-For', '203.0.113.1').expect(200);
    await request(app).get('/').set('X-Forwarded-For', '203.0.113.1').expect(200);
    expectRateLimited(await request(app).get('/').set('X-Forwarded-For', '203.0.113.1'), 'global', 2);
    await request(app).get('/').set('X-Forwarded-For', '203.0.113.2').expect(200);
  });

  it('keys IPv6 clients by /56', async () => {
    const app = appWith({ RATE_LIMIT_GLOBAL_MAX: '2', TRUST_PROXY: '1' });
    await request(app).get('/').set('X-Forwarded-For', '2001:db8:0:100::1').expect(200);
    await request(app).get('/').set('X-Forwarded-For', '2001:db8:0:1ff::2').expect(200);
    await request(app).get('/').set('X-Forwarded-For', '2001:db8:0:1aa::3').expect(429);
    await request(app).get('/').set('X-Forwarded-For', '2001:db8:0:200::1').expect(200);
  });
});

describe('proxy-trust self-check in GET /health/ready', () => {
  const many = async (app: Express, count: number, forwardedFor?: string) => {
    for (let i = 0; i < count; i += 1) {
      const req = request(app).get('/health');
      await (forwardedFor ? req.set('X-Forwarded-For', forwardedFor) : req).expect(200);
    }
  };

  it('is ok when requests arrive through the configured number of hops', async () => {
    const app = appWith({ TRUST_PROXY: '1' });
    await many(app, 25, '198.51.100.7');
    const res = await request(app).get('/health/ready').expect(200);
    expect(res.body.proxyTrust).toMatchObject({ status: 'ok', trustProxy: 1, warnings: [] });
  });

  it('cannot be flipped by clients forging X-Forwarded-For entries: the trusted hop still resolves a public address', async () => {
    const app = appWith({ TRUST_PROXY: '1' });
    await many(app, 30, '10.0.0.1, 192.168.1.1, 198.51.100.7');
    const res = await request(app).get('/health/ready').expect(200);
    expect(res.body.proxyTrust).toMatchObject({ status: 'ok', warnings: [], forwarding: { overTrusted: 0 } });
  });

  it('is not flipped by a handful of forwarded requests among direct ones', async () => {
    const app = appWith({ TRUST_PROXY: '0' });
    await many(app, 25);
    await many(app, 5, '203.0.113.9, 198.51.100.7');
    const res = await request(app).get('/health/ready').expect(200);
    expect(res.body.proxyTrust).toMatchObject({ status: 'ok', warnings: [], forwarding: { requests: 31, overTrusted: 5 } });
  });

  it('reports TRUST_PROXY=0 behind a proxy (every request forwarded from a private address) as misconfigured', async () => {
    const app = appWith({ TRUST_PROXY: '0' });
    await many(app, 25, '203.0.113.9');
    const res = await request(app).get('/health/ready').expect(200);
    expect(res.body.proxyTrust.status).toBe('misconfigured');
    expect(res.body.proxyTrust.warnings).toEqual([expect.stringMatching(/25 of 26 requests .* 1 forwarding hops but TRUST_PROXY=0/)]);
  });

  it('reports RENDER=true with TRUST_PROXY=0 as misconfigured from the start', async () => {
    const res = await request(appWith({ RENDER: 'true', TRUST_PROXY: '0' })).get('/health/ready').expect(200);
    expect(res.body.proxyTrust.status).toBe('misconfigured');
    expect(res.body.proxyTrust.warnings).toEqual([expect.stringMatching(/Render.*TRUST_PROXY=0/)]);
  });
});

describe('body parsing', () => {
  const app = () => appWith({ BODY_LIMIT: '1kb' });

  it('refuses JSON over BODY_LIMIT with a 413 problem', async () => {
    const res = await request(app()).post('/api/anything').send({ text: 'x'.repeat(2048) }).expect(413);
    expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(res.body).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
  });

  it('reads JSON under BODY_LIMIT and goes on to routing', async () => {
    const res = await request(app()).post('/api/anything').send({ text: 'x'.repeat(512) }).expect(404);
    expect(res.body.code).toBe('ROUTE_NOT_FOUND');
  });

  it('answers malformed JSON with a 400 problem', async () => {
    const res = await request(t.app).post('/api/anything').set('Content-Type', 'application/json').send('{"text": "unterminated').expect(400);
    expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(res.body).toMatchObject({ status: 400, code: 'MALFORMED_JSON' });
    expect(JSON.stringify(res.body)).not.toMatch(/Unexpected|position|at /);
  });
});

describe('unknown routes', () => {
  it('answer a 404 RFC 9457 problem', async () => {
    const res = await request(t.app).get('/api/no-such-route?x=1').expect(404);
    expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(res.body).toEqual({
      type: 'urn:confidant:problem:route-not-found',
      title: 'Not found',
      status: 404,
      detail: expect.any(String),
      code: 'ROUTE_NOT_FOUND',
      requestId: res.headers['x-request-id'],
    });
  });
});
