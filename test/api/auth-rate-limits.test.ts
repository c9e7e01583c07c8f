import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser } from '../helpers/users.js';

const WRONG = 'definitely-not-the-password-9';

/** With TRUST_PROXY=1 each X-Forwarded-For address is a client of its own. */
function from(app: TestApp, address: string) {
  return {
    login: (body: Record<string, unknown>) => request(app.app).post('/api/auth/login').set('X-Forwarded-For', address).send(body),
    post: (path: string, body: Record<string, unknown>) => request(app.app).post(path).set('X-Forwarded-For', address).send(body),
    get: (path: string) => request(app.app).get(path).set('X-Forwarded-For', address),
  };
}

describe('auth rate-limit tier (RATE_LIMIT_AUTH_MAX=3)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_AUTH_MAX: '3', TRUST_PROXY: '1' } });
  });
  afterAll(() => t.close());

  it('answers the 4th POST /api/auth/login from one client with 429 RATE_LIMITED and Retry-After', async () => {
    const user = await createUser(t);
    const client = from(t, '203.0.113.10');
    for (let i = 0; i < 3; i += 1) await client.login({ email: user.email, password: WRONG }).expect(401);

    const res = await client.login({ email: user.email, password: user.password }).expect(429);

    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.headers['ratelimit-policy']).toEqual(expect.any(String));
    expect(await t.context.models.AuthSession.count({ where: { userId: user.id } })).toBe(0);
  });

  it('counts register and refresh in the same tier for that client', async () => {
    const client = from(t, '203.0.113.11');
    await client.post('/api/auth/register', { email: 'tier-one@example.com', password: 'amber-quarry-lantern-sextant-48', name: 'Tier One' }).expect(202);
    await client.post('/api/auth/refresh', { refreshToken: 'not-a-token' }).expect(401);
    await client.login({ email: 'tier-one@example.com', password: WRONG }).expect(401);

    const register = await client.post('/api/auth/register', { email: 'tier-two@example.com', password: 'amber-quarry-lantern-sextant-48', name: 'Tier Two' }).expect(429);
    const refresh = await client.post('/api/auth/refresh', { refreshToken: 'not-a-token' }).expect(429);

    expect(register.body.code).toBe('RATE_LIMITED');
    expect(refresh.body.code).toBe('RATE_LIMITED');
    expect(await t.context.models.User.count({ where: { email: 'tier-two@example.com' } })).toBe(0);
  });

  it('leaves other routes and other clients unaffected', async () => {
    const user = await createUser(t);
    const limited = from(t, '203.0.113.12');
    for (let i = 0; i < 4; i += 1) await limited.login({ email: user.email, password: WRONG });
    await limited.login({ email: user.email, password: user.password }).expect(429);

    await limited.get('/.well-known/jwks.json').expect(200);
    const other = await from(t, '203.0.113.13').login({ email: user.email, password: user.password, transport: 'body' }).expect(200);
    await limited.get('/api/auth/me').set('Authorization', `Bearer ${other.body.accessToken}`).expect(200);
    await limited.post('/api/auth/logout', {}).set('Authorization', `Bearer ${other.body.accessToken}`).expect(204);
    expect((await t.context.models.AuthSession.findByPk(other.body.session.id))!.revokedReason).toBe('logout');
  });
});

describe('per-account slowing', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_AUTH_MAX: '1000', RATE_LIMIT_WRITE_MAX: '1000', TRUST_PROXY: '1' } });
  });
  afterAll(() => t.close());

  async function failFiveTimes(email: string, firstOctet = 198) {
    for (let i = 1; i <= 5; i += 1) {
      const res = await from(t, `${firstOctet}.51.100.${i}`).login({ email, password: WRONG });
      expect(res.status).toBe(401);
    }
  }

  it('slows an email after 5 failures with 429 LOGIN_THROTTLED and Retry-After, whatever the client address', async () => {
    const user = await createUser(t);
    await failFiveTimes(user.email);

    const res = await from(t, '192.0.2.200').login({ email: user.email, password: user.password }).expect(429);

    expect(res.body.code).toBe('LOGIN_THROTTLED');
    expect(res.headers['retry-after']).toBe('1');
    expect(await t.context.models.AuthSession.count({ where: { userId: user.id } })).toBe(0);
    await t.context.events.flush();
    const event = await t.context.models.SecurityEvent.findOne({ where: { type: 'rate_limited', ip: '192.0.2.200' } });
    expect(event!.metadata).toEqual({ scope: 'login_account' });
  });

  it('counts the email in any case and with spaces as the same account', async () => {
    const user = await createUser(t);
    for (let i = 1; i <= 5; i += 1) {
      await from(t, `198.51.101.${i}`).login({ email: i % 2 ? user.email.toUpperCase() : ` ${user.email} `, password: WRONG }).expect(401);
    }

    const res = await from(t, '192.0.2.201').login({ email: user.email, password: user.password }).expect(429);

    expect(res.body.code).toBe('LOGIN_THROTTLED');
  });

  it('leaves another email unaffected', async () => {
    const victim = await createUser(t);
    const bystander = await createUser(t);
    await failFiveTimes(victim.email);

    await from(t, '198.51.100.1').login({ email: bystander.email, password: bystander.password }).expect(200);

    expect(await t.context.models.AuthSession.count({ where: { userId: bystander.id } })).toBe(1);
  });

  it('lets the owner in once the short delay has passed, and a success resets the count', async () => {
    const user = await createUser(t);
    await failFiveTimes(user.email);
    await sleep(1_100); // after exactly 5 failures the wait is 1 s

    await from(t, '192.0.2.202').login({ email: user.email, password: user.password }).expect(200);
    const afterSuccess = await from(t, '192.0.2.202').login({ email: user.email, password: WRONG });
    const nextAttempt = await from(t, '192.0.2.202').login({ email: user.email, password: WRONG });

    expect(afterSuccess.status).toBe(401);
    expect(afterSuccess.body.code).toBe('INVALID_CREDENTIALS');
    expect(nextAttempt.status).toBe(401);
    expect(await t.context.models.AuthSession.count({ where: { userId: user.id } })).toBe(1);
  });

  it('slows unknown emails the same way (no enumeration through the throttle)', async () => {
    await failFiveTimes('nobody-at-all@example.com', 198);

    const res = await from(t, '192.0.2.203').login({ email: 'nobody-at-all@example.com', password: WRONG }).expect(429);

    expect(res.body.code).toBe('LOGIN_THROTTLED');
  });
});
