import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, userWithToken } from '../helpers/users.js';

const STRONG = 'amber-quarry-lantern-sextant-48';
const WRONG = 'definitely-not-the-password-9';
const UA = 'events-test/1.0';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true, env: { TRUST_PROXY: '1' } });
});
afterAll(() => t.close());

/** A client at `address` (TRUST_PROXY=1 makes X-Forwarded-For the client address) with a fixed user agent. */
function client(address: string) {
  const prepare = (req: request.Test) => req.set('X-Forwarded-For', address).set('User-Agent', UA);
  return {
    post: (path: string, body: Record<string, unknown> = {}, token?: string) => {
      const req = prepare(request(t.app).post(path));
      return (token ? req.set('Authorization', `Bearer ${token}`) : req).send(body);
    },
    get: (path: string, token?: string) => {
      const req = prepare(request(t.app).get(path));
      return token ? req.set('Authorization', `Bearer ${token}`) : req;
    },
    delete: (path: string, token: string) => prepare(request(t.app).delete(path)).set('Authorization', `Bearer ${token}`),
  };
}

async function eventsOf(where: Record<string, unknown>) {
  await t.context.events.flush();
  return t.context.models.SecurityEvent.findAll({ where, order: [['createdAt', 'ASC']] });
}

describe('security events written by the auth flows', () => {
  it('records every flow with the address, the user agent and metadata free of passwords, tokens and hashes', async () => {
    const ip = '203.0.113.45';
    const c = client(ip);
    const email = 'flow.person@example.com';
    await c.post('/api/auth/register', { email, password: STRONG, name: 'Flow Person' }).expect(202);
    await c.post('/api/auth/login', { email, password: WRONG }).expect(401);
    const first = (await c.post('/api/auth/login', { email, password: STRONG, transport: 'body' }).expect(200)).body;
    const second = (await c.post('/api/auth/login', { email, password: STRONG, transport: 'body' }).expect(200)).body;
    const r1 = (await c.post('/api/auth/refresh', { refreshToken: first.refreshToken }).expect(200)).body;
    const r2 = (await c.post('/api/auth/refresh', { refreshToken: r1.refreshToken }).expect(200)).body;
    await c.post('/api/auth/refresh', { refreshToken: first.refreshToken }).expect(401); // two generations old: reuse
    await c.get('/api/auth/me', first.accessToken).expect(401); // token of the session just ended
    await c.delete(`/api/auth/sessions/${second.session.id}`, second.accessToken).expect(204);
    const third = (await c.post('/api/auth/login', { email, password: STRONG, transport: 'body' }).expect(200)).body;
    await c.post('/api/auth/logout', {}, third.accessToken).expect(204);

    const user = await t.context.models.User.findOne({ where: { email } });
    const events = await eventsOf({ userId: user!.id });

    // Sorted: two events of one millisecond may come back in either order.
    expect(events.map((event) => event.type).sort()).toEqual([
      'account_created',
      'login_failure',
      'login_success',
      'login_success',
      'token_refresh',
      'token_refresh',
      'token_reuse_detected',
      'token_validation_failure',
      'session_revoked',
      'login_success',
      'logout',
    ].sort());
    const stored = JSON.stringify(events.map((event) => event.get({ plain: true })));
    for (const secret of [STRONG, WRONG, '$argon2', user!.passwordHash]) expect(stored).not.toContain(secret);
    for (const token of [first, second, third, r1, r2].flatMap((issued) => [issued.accessToken, issued.refreshToken.split('.').at(-1)!])) {
      expect(stored).not.toContain(token);
    }
    for (const event of events) {
      expect(event.ip).toBe(ip);
      expect(event.userAgent).toBe(UA);
      expect(Object.keys(event.metadata).join(',')).not.toMatch(/pass|token|hash|secret|cookie/i);
    }
  });

  it('records rate_limited when the per-account throttle refuses a login', async () => {
    const user = await createUser(t);
    for (let i = 0; i < 5; i += 1) await client('203.0.113.46').post('/api/auth/login', { email: user.email, password: WRONG }).expect(401);

    await client('203.0.113.47').post('/api/auth/login', { email: user.email, password: user.password }).expect(429);

    const [event] = await eventsOf({ type: 'rate_limited', ip: '203.0.113.47' });
    expect(event).toBeDefined();
    expect(event!.userAgent).toBe(UA);
    expect(event!.metadata).toEqual({ scope: 'login_account' });
  });

  it('truncates a very long user agent to 256 characters', async () => {
    const user = await createUser(t);

    await request(t.app).post('/api/auth/login').set('User-Agent', `long-${'x'.repeat(1000)}`).send({ email: user.email, password: user.password }).expect(200);

    const [event] = await eventsOf({ userId: user.id, type: 'login_success' });
    expect(event!.userAgent).toHaveLength(256);
  });
});

describe('GET /api/users/me/security-events', () => {
  it('returns only the caller’s own events, newest first, with the address pseudonymised', async () => {
    const mine = await userWithToken(t);
    const theirs = await userWithToken(t);
    await client('198.51.100.77').post('/api/auth/login', { email: mine.user.email, password: WRONG }).expect(401);
    await client('198.51.100.78').post('/api/auth/login', { email: theirs.user.email, password: WRONG }).expect(401);
    await t.context.events.flush();

    const res = await request(t.app).get('/api/users/me/security-events').set('Authorization', mine.auth).expect(200);

    expect(res.body.items.length).toBeGreaterThanOrEqual(2);
    for (const item of res.body.items) expect(item.userId).toBe(mine.user.id);
    expect(res.body.items[0]).toMatchObject({ type: 'login_failure', ip: '198.51.100.0/24', userAgent: UA });
    expect(res.body.items.at(-1)).toMatchObject({ type: 'login_success', ip: '127.0.0.0/24' });
    expect(res.text).not.toContain('198.51.100.77');
    expect(res.text).not.toContain('198.51.100.78');
    const times = res.body.items.map((item: { createdAt: string }) => item.createdAt);
    expect([...times].sort().reverse()).toEqual(times);
    expect(await t.context.models.SecurityEvent.count({ where: { userId: theirs.user.id } })).toBeGreaterThan(0);
  });

  it('honours limit and refuses unknown query keys', async () => {
    const { auth } = await userWithToken(t);
    await t.context.events.flush();

    const limited = await request(t.app).get('/api/users/me/security-events?limit=1').set('Authorization', auth).expect(200);
    const bad = await request(t.app).get('/api/users/me/security-events?userId=someone').set('Authorization', auth).expect(400);

    expect(limited.body.items).toHaveLength(1);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
  });

  it('requires authentication', async () => {
    await request(t.app).get('/api/users/me/security-events').expect(401);
  });
});

describe('GET /api/admin/security-events', () => {
  let admin: Awaited<ReturnType<typeof userWithToken>>;
  let target: Awaited<ReturnType<typeof userWithToken>>;
  const TARGET_IP = '192.0.2.150';
  beforeAll(async () => {
    admin = await userWithToken(t, { role: 'admin' });
    target = await userWithToken(t);
    await client(TARGET_IP).post('/api/auth/login', { email: target.user.email, password: WRONG }).expect(401);
    await t.context.events.flush();
  });

  function search(query: Record<string, string>, auth = admin.auth) {
    return request(t.app).get('/api/admin/security-events').query(query).set('Authorization', auth);
  }

  it('answers 401 anonymously', async () => {
    const res = await request(t.app).get('/api/admin/security-events').expect(401);

    expect(res.body.code).toBe('UNAUTHORIZED');
  });

  it.each(['user', 'counselor'] as const)('answers 403 to a %s', async (role) => {
    const { auth } = await userWithToken(t, { role });

    const res = await search({}, auth).expect(403);

    expect(res.body.code).toBe('FORBIDDEN_ROLE');
    expect(res.text).not.toContain(TARGET_IP);
  });

  it('shows an admin every user’s events with full addresses', async () => {
    const res = await search({ limit: '100' }).expect(200);

    expect(res.body.items.length).toBeGreaterThan(1);
    expect(new Set(res.body.items.map((item: { userId: string | null }) => item.userId)).size).toBeGreaterThan(1);
    expect(res.body.items).toContainEqual(expect.objectContaining({ userId: target.user.id, ip: TARGET_IP, type: 'login_failure' }));
  });

  it('filters by type', async () => {
    const res = await search({ type: 'login_failure', limit: '100' }).expect(200);

    expect(res.body.items.length).toBeGreaterThan(0);
    for (const item of res.body.items) expect(item.type).toBe('login_failure');
  });

  it('filters by userId', async () => {
    const res = await search({ userId: target.user.id }).expect(200);

    expect(res.body.items.map((item: { type: string }) => item.type).sort()).toEqual(['login_failure', 'login_success']);
    for (const item of res.body.items) expect(item.userId).toBe(target.user.id);
  });

  it('filters by ip', async () => {
    const res = await search({ ip: TARGET_IP }).expect(200);

    expect(res.body.items).toHaveLength(1);
    expect(res.body.items[0]).toMatchObject({ ip: TARGET_IP, userId: target.user.id, type: 'login_failure' });
  });

  it('filters by since', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const past = new Date(Date.now() - 3_600_000).toISOString();

    const none = await search({ since: future }).expect(200);
    const some = await search({ since: past, userId: target.user.id }).expect(200);

    expect(none.body.items).toEqual([]);
    expect(some.body.items).toHaveLength(2);
    for (const item of some.body.items) expect(new Date(item.createdAt).getTime()).toBeGreaterThanOrEqual(new Date(past).getTime());
  });

  it('combines filters and honours limit', async () => {
    const combined = await search({ type: 'login_success', userId: target.user.id }).expect(200);
    const limited = await search({ limit: '1' }).expect(200);

    expect(combined.body.items).toHaveLength(1);
    expect(combined.body.items[0].type).toBe('login_success');
    expect(limited.body.items).toHaveLength(1);
  });

  it.each([
    ['an unknown type', { type: 'coffee_break' }],
    ['a userId that is not a UUID', { userId: '42' }],
    ['an ip that is not an address', { ip: '999.1.1.1' }],
    ['a since that is not an ISO date-time', { since: 'yesterday' }],
    ['a limit of 0', { limit: '0' }],
    ['a limit over 100', { limit: '101' }],
    ['an unknown key', { email: 'someone@example.com' }],
  ])('answers %s with 400 VALIDATION_FAILED', async (_label, query) => {
    const res = await search(query).expect(400);

    expect(res.body.code).toBe('VALIDATION_FAILED');
  });
});

describe('GET /api/admin/security-events/suspicious', () => {
  it('lists an address with more than 5 failed logins in the last hour, and not one with 5', async () => {
    const { auth } = await userWithToken(t, { role: 'admin' });
    for (let i = 0; i < 6; i += 1) await client('203.0.113.66').post('/api/auth/login', { email: `spray-${i}@example.com`, password: WRONG }).expect(401);
    for (let i = 0; i < 5; i += 1) await client('203.0.113.55').post('/api/auth/login', { email: `quiet-${i}@example.com`, password: WRONG }).expect(401);
    await t.context.events.flush();

    const res = await request(t.app).get('/api/admin/security-events/suspicious').set('Authorization', auth).expect(200);

    expect(res.body.items).toContainEqual({ ip: '203.0.113.66', failures: 6, lastAt: expect.any(String) });
    expect(Number.isNaN(Date.parse(res.body.items.find((item: { ip: string }) => item.ip === '203.0.113.66').lastAt))).toBe(false);
    expect(res.body.items.map((item: { ip: string }) => item.ip)).not.toContain('203.0.113.55');
  });

  it('is for admins only', async () => {
    const { auth } = await userWithToken(t);

    await request(t.app).get('/api/admin/security-events/suspicious').set('Authorization', auth).expect(403);
    await request(t.app).get('/api/admin/security-events/suspicious').expect(401);
  });
});

describe('when the security_events table is unavailable', () => {
  let u: TestApp;
  beforeAll(async () => {
    u = await createTestApp({ lenientLimits: true });
  });
  afterAll(() => u.close());

  it('still lets login succeed, and writes the queued event once the table is back', async () => {
    const user = await createUser(u);
    const queryInterface = u.sequelize.getQueryInterface();
    await queryInterface.renameTable('security_events', 'security_events_gone');
    let res;
    try {
      res = await request(u.app).post('/api/auth/login').send({ email: user.email, password: user.password, transport: 'body' });
      await u.context.events.flush(); // fails and keeps the event queued; never throws
    } finally {
      await queryInterface.renameTable('security_events_gone', 'security_events');
    }

    expect(res.status).toBe(200);
    expect(await u.context.models.AuthSession.count({ where: { userId: user.id } })).toBe(1);
    await u.context.events.flush();
    const event = await u.context.models.SecurityEvent.findOne({ where: { userId: user.id, type: 'login_success' } });
    expect(event!.metadata).toMatchObject({ sessionId: res.body.session.id });
  });
});
