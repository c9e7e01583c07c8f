import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { createTestApp, LENIENT_LIMITS, type TestApp } from '../helpers/app.js';
import { scrape, valueOf, type Sample } from '../helpers/metrics.js';
import { createUser, login, userWithToken } from '../helpers/users.js';

const MONITORING_TOKEN = 'monitoring-token-for-metrics-tests';
const METRICS_TOKEN = 'metrics-token-for-the-scraper-only';
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const EMAIL = /[^\s@]+@[^\s@]+\.[a-z]{2,}/i;
const IPV4 = /\b\d{1,3}(\.\d{1,3}){3}\b/;
const IPV6 = /\b[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}\b/i;

describe('GET /metrics access', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { ...LENIENT_LIMITS, MONITORING_TOKEN, METRICS_TOKEN } });
  });
  afterAll(() => t.close());

  it('refuses a request without a token with 401 METRICS_ACCESS_REQUIRED', async () => {
    const res = await request(t.app).get('/metrics').expect(401);
    expect(res.body.code).toBe('METRICS_ACCESS_REQUIRED');
  });

  it('refuses a wrong or malformed token with 401', async () => {
    expect((await request(t.app).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}x`)).status).toBe(401);
    expect((await request(t.app).get('/metrics').set('Authorization', 'Bearer ')).status).toBe(401);
    expect((await request(t.app).get('/metrics').set('Authorization', METRICS_TOKEN)).status).toBe(401);
  });

  it('answers the monitoring token, the metrics token and an admin in the Prometheus text format; a user gets 403', async () => {
    for (const token of [MONITORING_TOKEN, METRICS_TOKEN]) {
      const res = await request(t.app).get('/metrics').set('Authorization', `Bearer ${token}`).expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(res.text).toContain('# TYPE confidant_http_request_duration_seconds histogram');
      expect(res.text).toContain('nodejs_eventloop_lag_p99_seconds');
    }
    const admin = await createUser(t, { role: 'admin' });
    await request(t.app).get('/metrics').set('Authorization', `Bearer ${(await login(t, admin)).accessToken}`).expect(200);
    const user = await userWithToken(t);
    expect((await request(t.app).get('/metrics').set('Authorization', user.auth).expect(403)).body.code).toBe('FORBIDDEN_ROLE');
  });

  it('the metrics token opens /metrics only, not the error statistics', async () => {
    await request(t.app).get('/api/errors/stats').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(401);
    await request(t.app).get('/api/errors/stats').set('Authorization', `Bearer ${MONITORING_TOKEN}`).expect(200);
  });

  it('is outside the rate-limit tiers: many scrapes, never a 429, while the API is limited', async () => {
    const limited = await createTestApp({ env: { ...LENIENT_LIMITS, RATE_LIMIT_GLOBAL_MAX: '3', METRICS_TOKEN } });
    try {
      for (let i = 0; i < 8; i += 1) await request(limited.app).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
      for (let i = 0; i < 3; i += 1) await request(limited.app).get('/api/openapi.json').expect(200);
      await request(limited.app).get('/api/openapi.json').expect(429);
      await request(limited.app).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
    } finally {
      await limited.close();
    }
  });
});

describe('GET /metrics in production without a token configured', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ lenientLimits: true });
  });
  afterAll(() => t.close());

  it('is refused to anonymous callers and to made-up tokens', async () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      STORAGE_LOCAL_ALLOWED: 'true',
      ...LENIENT_LIMITS,
      DATABASE_URL: 'postgres://unused@127.0.0.1:5432/unused', // the app below runs on the test database
      CORS_ORIGINS: 'https://app.example.com',
      AUTH_SECRET: randomBytes(32).toString('base64url'),
      DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
      LOG_LEVEL: 'silent',
    });
    expect(config.secrets.monitoringToken).toBeUndefined();
    expect(config.secrets.metricsToken).toBeUndefined();
    const production = createApp({ config, sequelize: t.sequelize });
    expect((await request(production.app).get('/metrics').expect(401)).body.code).toBe('METRICS_ACCESS_REQUIRED');
    await request(production.app).get('/metrics').set('Authorization', 'Bearer monitoring-token-guess-0000').expect(401);
    // Its background work (the refused token is a security event) ends before the database closes.
    await production.modules.securityEvents.recorder.flush();
    await production.modules.securityEvents.auditChain.sealPending();
    await production.modules.securityEvents.auditChain.stop();
  });
});

describe('what /metrics counts', () => {
  let t: TestApp;
  const read = () => scrape(t.app, METRICS_TOKEN);
  const delta = (before: Sample[], after: Sample[], name: string, labels: Record<string, string> = {}) => valueOf(after, name, labels) - valueOf(before, name, labels);

  beforeAll(async () => {
    t = await createTestApp({ env: { ...LENIENT_LIMITS, METRICS_TOKEN } });
  });
  afterAll(() => t.close());

  it('counts failed and successful logins and bad access tokens as they are recorded', async () => {
    const user = await createUser(t);
    const before = await read();
    for (let i = 0; i < 3; i += 1) await request(t.app).post('/api/auth/login').send({ email: user.email, password: 'not-the-password-at-all' }).expect(401);
    await login(t, user);
    await request(t.app).get('/api/auth/me').set('Authorization', 'Bearer eyJhbGciOiJFZERTQSJ9.e30.c2lnbmF0dXJl').expect(401);
    const after = await read();
    expect(delta(before, after, 'confidant_security_events_total', { type: 'login_failure' })).toBe(3);
    expect(delta(before, after, 'confidant_security_events_total', { type: 'login_success' })).toBe(1);
    expect(delta(before, after, 'confidant_security_events_total', { type: 'token_validation_failure' })).toBe(1);
    expect(delta(before, after, 'confidant_http_requests_total', { route: '/api/auth/login', status: '401' })).toBe(3);
    expect(delta(before, after, 'confidant_http_request_duration_seconds_count', { method: 'POST', route: '/api/auth/login', status_class: '4xx' })).toBe(3);
  });

  it('counts token reuse', async () => {
    const { refreshToken } = await userWithToken(t);
    const before = await read();
    const first = await request(t.app).post('/api/auth/refresh').send({ refreshToken }).expect(200);
    await request(t.app).post('/api/auth/refresh').send({ refreshToken: first.body.refreshToken }).expect(200);
    await request(t.app).post('/api/auth/refresh').send({ refreshToken }).expect(401);
    expect(delta(before, await read(), 'confidant_security_events_total', { type: 'token_reuse_detected' })).toBe(1);
  });

  it('counts rate-limit refusals by tier', async () => {
    const limited = await createTestApp({ env: { ...LENIENT_LIMITS, RATE_LIMIT_AUTH_MAX: '4', METRICS_TOKEN } });
    const before = await scrape(limited.app, METRICS_TOKEN);
    const statuses: number[] = [];
    for (let i = 0; i < 7; i += 1) statuses.push((await request(limited.app).post('/api/auth/forgot-password').send({ email: 'nobody@example.com' })).status);
    const refused = statuses.filter((status) => status === 429).length;
    expect(refused).toBe(3);
    const after = await scrape(limited.app, METRICS_TOKEN);
    await limited.close();
    expect(delta(before, after, 'confidant_rate_limit_refusals_total', { tier: 'auth' })).toBe(refused);
    expect(delta(before, after, 'confidant_rate_limit_refusals_total', { tier: 'global' })).toBe(0);
  });

  it('gives the worst single address’s failed logins as a number, without the address', async () => {
    await request(t.app).post('/api/auth/login').send({ email: 'ghost@example.com', password: 'not-the-password-at-all' }).expect(401);
    const samples = await read();
    expect(valueOf(samples, 'confidant_login_failures_busiest_address')).toBeGreaterThanOrEqual(1);
    expect(samples.filter((sample) => sample.name === 'confidant_login_failures_busiest_address').every((sample) => Object.keys(sample.labels).length === 0)).toBe(true);
  });

  it('shows the audit sealing lag until the chain seals the events', async () => {
    await t.context.auditChain.stop(); // no timer sealing during this test: we seal by hand
    t.context.events.record({ type: 'logout', metadata: { all: true } });
    await t.context.events.flush();
    const pending = await read();
    expect(valueOf(pending, 'confidant_audit_unsealed_events')).toBeGreaterThanOrEqual(1);
    await t.context.auditChain.sealPending();
    const sealed = await read();
    expect(valueOf(sealed, 'confidant_audit_unsealed_events')).toBe(0);
    expect(valueOf(sealed, 'confidant_audit_unsealed_oldest_seconds')).toBe(0);
  });

  it('counts failed database queries by kind', async () => {
    const before = await read();
    await expect(t.sequelize.query('SELECT * FROM no_such_table')).rejects.toThrow();
    expect(delta(before, await read(), 'confidant_db_query_errors_total', { kind: 'other' })).toBe(1);
  });

  it('reports readiness, and Redis and the pool where they exist', async () => {
    const samples = await read();
    expect(valueOf(samples, 'confidant_ready')).toBe(1);
    const names = new Set(samples.map((sample) => sample.name));
    expect(names.has('confidant_redis_up')).toBe(t.config.redis.url !== undefined);
    if (t.config.redis.url) expect(valueOf(samples, 'confidant_redis_up')).toBe(1);
    expect(names.has('confidant_db_pool_connections_in_use')).toBe(t.dialect === 'postgres');
    expect(names.has('confidant_db_pool_waiting')).toBe(t.dialect === 'postgres');
  });
});

describe('label hygiene', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { ...LENIENT_LIMITS, MONITORING_TOKEN } });
  });
  afterAll(() => t.close());

  it('after a varied workload no label carries an id, an email or an address, and routes are templates', async () => {
    const client = await userWithToken(t);
    const counselor = await userWithToken(t, { role: 'counselor' });
    await request(t.app).post('/api/auth/register').send({ email: `new-${randomUUID()}@example.com`, password: 'quartz-meadow-lantern-violin-83', name: 'New Person' });
    await request(t.app).post('/api/auth/login').send({ email: client.user.email, password: 'wrong-password-here' }).expect(401);
    const created = await request(t.app).post('/api/sessions').set('Authorization', client.auth).send({ counselorId: counselor.user.id, topic: 'label hygiene' });
    const sessionId = (created.body.id as string | undefined) ?? randomUUID();
    await request(t.app).get(`/api/sessions/${sessionId}`).set('Authorization', client.auth);
    await request(t.app).get(`/api/sessions/${sessionId}/entries`).set('Authorization', counselor.auth);
    await request(t.app).get(`/api/sessions/${randomUUID()}`).set('Authorization', client.auth).expect(404);
    await request(t.app).delete(`/api/auth/sessions/${randomUUID()}`).set('Authorization', client.auth);
    await request(t.app).get(`/api/users/${client.user.email}`).set('Authorization', client.auth);
    await request(t.app).get(`/no/such/${randomUUID()}/path`).expect(404);
    await request(t.app).get('/10.0.0.1/2001:db8::1').set('X-Forwarded-For', '198.51.100.7').expect(404);
    await request(t.app).get(`/api/sessions?cursor=${client.user.email}`).set('Authorization', client.auth);
    await t.context.events.flush();

    const samples = await scrape(t.app, MONITORING_TOKEN);
    const values = samples.flatMap((sample) => Object.values(sample.labels));
    expect(values.length).toBeGreaterThan(0);
    for (const value of values) {
      expect(value, `label value ${value}`).not.toMatch(UUID);
      expect(value, `label value ${value}`).not.toMatch(EMAIL);
      expect(value, `label value ${value}`).not.toMatch(IPV4);
      expect(value, `label value ${value}`).not.toMatch(IPV6);
    }
    const declared = new Set([...t.routes.routes.map((route) => route.path), '(unmatched)']);
    const routes = new Set(samples.filter((sample) => sample.name === 'confidant_http_requests_total').map((sample) => sample.labels.route!));
    expect([...routes].filter((route) => !declared.has(route))).toEqual([]);
    expect(routes).toContain('/api/sessions/:id');
    expect(routes).toContain('/api/auth/sessions/:id');
    expect(routes).toContain('(unmatched)');
    const histogramRoutes = new Set(samples.filter((sample) => sample.name === 'confidant_http_request_duration_seconds_bucket').map((sample) => sample.labels.route!));
    expect(histogramRoutes).toContain('/api/sessions/:id/entries');
  });
});

describe('what the alert rules and the dashboard query', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { ...LENIENT_LIMITS, METRICS_TOKEN } });
  });
  afterAll(() => t.close());

  it('every confidant_ and nodejs_ metric they name is one the app exports', async () => {
    const text = ['ops/prometheus/alerts.yml', 'ops/grafana/dashboards/confidant.json'].map((file) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')).join('\n');
    const named = new Set([...text.matchAll(/\b((?:confidant|nodejs|process)_[a-z0-9_]+)/g)].map((match) => match[1]!));
    await request(t.app).get('/health').expect(200); // so the request series exist
    const exported = new Set((await scrape(t.app, METRICS_TOKEN)).map((sample) => sample.name));
    // Gauges that exist only with PostgreSQL or Redis.
    if (t.dialect !== 'postgres') for (const name of ['confidant_db_pool_connections_in_use', 'confidant_db_pool_waiting', 'confidant_db_pool_connections_max']) exported.add(name);
    if (!t.config.redis.url) exported.add('confidant_redis_up');
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter((name) => !exported.has(name))).toEqual([]);
  });
});
