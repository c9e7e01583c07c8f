import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, userWithToken } from '../helpers/users.js';

/**
 * argon2 runs on libuv's small thread pool. A burst of logins must not queue there for
 * seconds: beyond PASSWORD_HASH_CONCURRENCY running and PASSWORD_HASH_QUEUE waiting, a login
 * is answered at once with 503 BUSY and Retry-After, whether or not the account exists.
 */

const BURST = 60;

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({
    env: { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: '1', RATE_LIMIT_AUTH_MAX: '1000', RATE_LIMIT_WRITE_MAX: '1000', RATE_LIMIT_GLOBAL_MAX: '5000' },
  });
});
afterAll(() => t.close());

describe(`a burst of ${BURST} concurrent logins (PASSWORD_HASH_CONCURRENCY=1, PASSWORD_HASH_QUEUE=1)`, () => {
  it('sheds what does not fit with 503 BUSY and Retry-After, the same for known and unknown accounts', async () => {
    const known = await Promise.all(Array.from({ length: BURST / 2 }, () => createUser(t)));
    const emails = [...known.map((user) => ({ email: user.email, known: true })), ...known.map(() => ({ email: `nobody-${randomUUID()}@example.com`, known: false }))];
    const reader = await userWithToken(t);
    await request(t.app).get('/api/auth/me').set('Authorization', reader.auth).expect(200); // its session state is cached

    // Every address once (no per-account slowing), every password wrong.
    const burst = Promise.all(
      emails.map(({ email, known: isKnown }) =>
        request(t.app)
          .post('/api/auth/login')
          .send({ email, password: 'not-the-password-at-all-9', transport: 'body' })
          .then((res) => ({ email, known: isKnown, res })),
      ),
    );
    const [health, authenticated] = await Promise.all([request(t.app).get('/health'), request(t.app).get('/api/auth/me').set('Authorization', reader.auth)]);
    const answers = await burst;

    const busy = answers.filter(({ res }) => res.status === 503);
    const verified = answers.filter(({ res }) => res.status === 401);
    expect(busy.length + verified.length).toBe(BURST);
    expect(busy.length).toBeGreaterThanOrEqual(BURST / 3);
    expect(busy.filter((answer) => answer.known).length).toBeGreaterThan(0);
    expect(busy.filter((answer) => !answer.known).length).toBeGreaterThan(0);
    const bodies = new Set(busy.map(({ res }) => JSON.stringify({ ...res.body, requestId: undefined })));
    expect(bodies.size).toBe(1); // known or unknown: one and the same answer
    for (const { res } of busy) {
      expect(res.body.code).toBe('BUSY');
      expect(res.headers['retry-after']).toBe('1');
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    for (const { res } of verified) expect(res.body.code).toBe('INVALID_CREDENTIALS');
    // Never more argon2 work at once than allowed, and every refusal went through the limiter.
    expect(t.context.passwords.limiter.stats).toMatchObject({ peakRunning: 1, refused: busy.length });
    expect(t.context.passwords.limiter.stats.peakWaiting).toBeLessThanOrEqual(1);
    // A refusal is no failed attempt: no login_failure event, nothing toward per-account slowing.
    await t.context.events.flush();
    const failures = await t.context.models.SecurityEvent.findAll({ where: { type: 'login_failure', userId: known.map((user) => user.id) } });
    const failedIds = new Set(failures.map((event) => event.userId));
    const busyKnownIds = busy.filter((answer) => answer.known).map(({ email }) => known.find((user) => user.email === email)!.id);
    expect(busyKnownIds.filter((id) => failedIds.has(id))).toEqual([]);
    expect(failures.length).toBe(verified.filter((answer) => answer.known).length);
    // Meanwhile the probes and an authenticated read are answered.
    expect(health.status).toBe(200);
    expect(authenticated.status).toBe(200);
  });

  it('lets the next login through once the burst is over', async () => {
    const user = await createUser(t);

    const res = await request(t.app).post('/api/auth/login').send({ email: user.email, password: user.password, transport: 'body' });

    expect(res.status, res.text).toBe(200);
  });
});
