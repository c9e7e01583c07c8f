import { createHash } from 'node:crypto';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { enrolTotp, nextTotpCode, totpCode } from '../helpers/mfa.js';
import { createUser, login, type TestUser } from '../helpers/users.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
});
afterAll(() => t.close());
afterEach(() => {
  vi.useRealTimers();
});

/** A user with a confirmed authenticator app; the secret and the recovery codes. */
async function userWithTotp(): Promise<{ user: TestUser; secret: string; recoveryCodes: string[] }> {
  const user = await createUser(t);
  const { accessToken } = await login(t, user);
  return { user, ...(await enrolTotp(t, `Bearer ${accessToken}`)) };
}

function passwordStep(user: TestUser, extra: Record<string, unknown> = { transport: 'body' }) {
  return request(t.app).post('/api/auth/login').send({ email: user.email, password: user.password, ...extra }).expect(200);
}

function verify(body: object) {
  return request(t.app).post('/api/auth/mfa/verify').send(body);
}

/** A six-digit code that is not the current one. */
async function wrongCode(secret: string): Promise<string> {
  const current = new Set([await totpCode(secret, -1), await totpCode(secret), await totpCode(secret, 1)]);
  for (let n = 0; ; n += 1) {
    const candidate = String(n).padStart(6, '0');
    if (!current.has(candidate)) return candidate;
  }
}

async function eventsOf(userId: string, type: string) {
  await t.context.events.flush();
  return t.context.models.SecurityEvent.findAll({ where: { userId, type }, order: [['createdAt', 'ASC']] });
}

const sessionsOf = (userId: string) => t.context.models.AuthSession.count({ where: { userId } });

describe('POST /api/auth/login with a second factor', () => {
  it('answers a challenge and the methods instead of tokens: no session, no refresh token, no cookie', async () => {
    const { user } = await userWithTotp();
    const before = await sessionsOf(user.id);

    const res = await passwordStep(user);

    expect(res.body).toEqual({ mfaRequired: true, challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), methods: ['totp', 'recovery_code'] });
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(await sessionsOf(user.id)).toBe(before);
    const stored = await t.context.models.LoginChallenge.findOne({ where: { userId: user.id } });
    expect(stored!.tokenHash).toBe(createHash('sha256').update(res.body.challenge).digest('hex'));
    expect(stored!.expiresAt.getTime() - stored!.createdAt.getTime()).toBe(5 * 60_000);
  });

  it('gives a wrong password the same 401 as for an account without a factor and for an unknown email', async () => {
    const { user } = await userWithTotp();
    const plain = await createUser(t);
    const bodies = [];
    for (const email of [user.email, plain.email, 'nobody-here@example.com']) {
      const res = await request(t.app).post('/api/auth/login').send({ email, password: 'not-the-password-at-all', transport: 'body' }).expect(401);
      const { requestId: _id, ...body } = res.body;
      bodies.push(body);
    }
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[2]).toEqual(bodies[0]);
    expect(JSON.stringify(bodies[0])).not.toMatch(/totp|factor|mfa/i);
  });
});

describe('POST /api/auth/mfa/verify', () => {
  it('completes the sign-in with a code from the authenticator app: the same token answer as login, authentication time recorded', async () => {
    const { user, secret } = await userWithTotp();
    const { body } = await passwordStep(user, { transport: 'body', rememberMe: true });

    const res = await verify({ challenge: body.challenge, code: await nextTotpCode(secret) }).expect(200);

    expect(res.body).toEqual({
      accessToken: expect.any(String),
      tokenType: 'Bearer',
      expiresIn: 900,
      user: expect.objectContaining({ id: user.id }),
      session: { id: expect.any(String), expiresAt: expect.any(String), rememberMe: true },
      refreshToken: expect.any(String),
    });
    const session = await t.context.models.AuthSession.findByPk(res.body.session.id);
    expect(session!.rememberMe).toBe(true);
    expect(session!.authenticatedAt).not.toBeNull();
    await request(t.app).get('/api/auth/me').set('Authorization', `Bearer ${res.body.accessToken}`).expect(200);
    const [event] = (await eventsOf(user.id, 'login_success')).slice(-1);
    expect(event!.metadata).toMatchObject({ sessionId: res.body.session.id, method: 'totp', rememberMe: true });
  });

  it('keeps the cookie transport of the login: the refresh token in the HttpOnly cookie, a CSRF token in the body', async () => {
    const { user, secret } = await userWithTotp();
    const { body } = await passwordStep(user, {});

    const res = await verify({ challenge: body.challenge, code: await nextTotpCode(secret) }).expect(200);

    expect(res.body).toHaveProperty('csrfToken');
    expect(res.body).not.toHaveProperty('refreshToken');
    const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    expect(cookies.find((cookie) => cookie.startsWith('confidant_refresh='))).toMatch(/HttpOnly/i);
  });

  it('refuses a replayed code: the code that signed in once does not sign in again', async () => {
    const { user, secret } = await userWithTotp();
    const code = await nextTotpCode(secret);
    const first = await passwordStep(user);
    await verify({ challenge: first.body.challenge, code }).expect(200);

    const second = await passwordStep(user);
    const res = await verify({ challenge: second.body.challenge, code }).expect(401);

    expect(res.body.code).toBe('INVALID_MFA_CODE');
    expect(await eventsOf(user.id, 'mfa_challenge_failed')).toHaveLength(1);
  });

  it('refuses a challenge used once already', async () => {
    const { user, secret } = await userWithTotp();
    const { body } = await passwordStep(user);
    await verify({ challenge: body.challenge, code: await nextTotpCode(secret) }).expect(200);

    const res = await verify({ challenge: body.challenge, code: await totpCode(secret, 2) }).expect(401);

    expect(res.body.code).toBe('INVALID_MFA_CHALLENGE');
  });

  it('refuses a challenge after 5 minutes, and an unknown one alike', async () => {
    const { user, secret } = await userWithTotp();
    const { body } = await passwordStep(user);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 5 * 60_000 + 1_000);

    const expired = await verify({ challenge: body.challenge, code: await totpCode(secret) }).expect(401);
    const unknown = await verify({ challenge: 'A'.repeat(43), code: '123456' }).expect(401);

    const { requestId: _a, ...expiredBody } = expired.body;
    const { requestId: _b, ...unknownBody } = unknown.body;
    expect(expiredBody).toEqual(unknownBody);
    expect(expiredBody.code).toBe('INVALID_MFA_CHALLENGE');
  });

  it('voids the challenge after five wrong codes, records each failure, and slows the account', async () => {
    const { user, secret } = await userWithTotp();
    const { body } = await passwordStep(user);
    const wrong = await wrongCode(secret);

    const left = [];
    for (let i = 0; i < 5; i += 1) {
      const res = await verify({ challenge: body.challenge, code: wrong }).expect(401);
      expect(res.body.code).toBe('INVALID_MFA_CODE');
      left.push(res.body.attemptsLeft);
    }
    const sixth = await verify({ challenge: body.challenge, code: await nextTotpCode(secret) });

    expect(left).toEqual([4, 3, 2, 1, 0]);
    expect(sixth.status === 401 || sixth.status === 429).toBe(true);
    expect(await eventsOf(user.id, 'mfa_challenge_failed')).toHaveLength(5);
    // Five failures count like five wrong passwords: the next attempt for the account waits.
    const throttled = await request(t.app).post('/api/auth/login').send({ email: user.email, password: user.password, transport: 'body' }).expect(429);
    expect(throttled.body.code).toBe('LOGIN_THROTTLED');
  });

  it('never lets more than five codes be tried against one challenge, even all at once', async () => {
    const { user, secret } = await userWithTotp();
    const { body } = await passwordStep(user);
    const wrong = await wrongCode(secret);

    const answers = await Promise.all(Array.from({ length: 12 }, () => verify({ challenge: body.challenge, code: wrong })));

    expect(answers.filter((res) => res.body.code === 'INVALID_MFA_CODE')).toHaveLength(5);
    expect(answers.every((res) => res.status === 401 || res.status === 429)).toBe(true);
    expect((await t.context.models.LoginChallenge.findOne({ where: { userId: user.id } }))!.attempts).toBe(5);
  });

  describe('with a recovery code', () => {
    it('signs in once with each code (case, spaces and dashes do not matter) and records recovery_code_used', async () => {
      const { user, recoveryCodes } = await userWithTotp();

      const first = await passwordStep(user);
      const typed = ` ${recoveryCodes[0]!.toUpperCase().replace(/-/g, ' ')} `;
      await verify({ challenge: first.body.challenge, recoveryCode: typed }).expect(200);
      const again = await passwordStep(user);
      const reused = await verify({ challenge: again.body.challenge, recoveryCode: recoveryCodes[0] }).expect(401);
      await verify({ challenge: again.body.challenge, recoveryCode: recoveryCodes[1] }).expect(200);

      expect(reused.body.code).toBe('INVALID_MFA_CODE');
      const used = await eventsOf(user.id, 'recovery_code_used');
      expect(used.map((event) => event.metadata.remaining)).toEqual([9, 8]);
      expect(await t.context.models.RecoveryCode.count({ where: { userId: user.id, usedAt: null } })).toBe(8);
    });

    it('does not accept a code of another person', async () => {
      const { user } = await userWithTotp();
      const other = await userWithTotp();
      const { body } = await passwordStep(user);
      const res = await verify({ challenge: body.challenge, recoveryCode: other.recoveryCodes[0] }).expect(401);
      expect(res.body.code).toBe('INVALID_MFA_CODE');
      expect(await t.context.models.RecoveryCode.count({ where: { userId: other.user.id, usedAt: null } })).toBe(10);
    });
  });

  it('refuses the challenge of an account disabled since the password step', async () => {
    const { user, secret } = await userWithTotp();
    const { body } = await passwordStep(user);
    await t.context.models.User.update({ disabledAt: new Date() }, { where: { id: user.id } });

    const res = await verify({ challenge: body.challenge, code: await nextTotpCode(secret) }).expect(401);

    expect(res.body.code).toBe('INVALID_MFA_CHALLENGE');
  });

  it.each([
    ['no body', undefined],
    ['neither code nor recoveryCode', { challenge: 'A'.repeat(43) }],
    ['both code and recoveryCode', { challenge: 'A'.repeat(43), code: '123456', recoveryCode: 'abcd-efgh-jkmn' }],
    ['a challenge of the wrong shape', { challenge: 'short', code: '123456' }],
    ['a code of the wrong shape', { challenge: 'A'.repeat(43), code: '12345' }],
    ['an unknown key', { challenge: 'A'.repeat(43), code: '123456', transport: 'cookie' }],
    ['a huge recovery code', { challenge: 'A'.repeat(43), recoveryCode: 'a'.repeat(5000) }],
  ])('refuses %s with 400, touching no challenge', async (_name, payload) => {
    const { user } = await userWithTotp();
    const { body } = await passwordStep(user);
    const withChallenge = payload && 'challenge' in payload && payload.challenge === 'A'.repeat(43) ? { ...payload, challenge: body.challenge } : payload;

    const req = request(t.app).post('/api/auth/mfa/verify');
    const res = await (withChallenge === undefined ? req : req.send(withChallenge)).expect(400);

    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect((await t.context.models.LoginChallenge.findOne({ where: { userId: user.id } }))!.attempts).toBe(0);
    expect(await eventsOf(user.id, 'mfa_challenge_failed')).toHaveLength(0);
  });
});

describe('the query budget of a sign-in', () => {
  /**
   * The statements a request sends while `act` runs; the background work that may overlap it
   * (security events, their sealing under a job lock) is left out.
   */
  async function queriesDuring(act: () => Promise<unknown>): Promise<string[]> {
    await t.context.events.flush();
    await t.context.auditChain.sealPending();
    const seen: string[] = [];
    const options = (t.sequelize as unknown as { options: { logging: unknown } }).options;
    const before = options.logging;
    options.logging = (sql: string) => seen.push(sql);
    try {
      await act();
    } finally {
      options.logging = before;
    }
    return seen.filter((sql) => !/security_events|audit_checkpoints|job_locks|TRANSACTION|COMMIT|ROLLBACK|SAVEPOINT/i.test(sql));
  }

  it('costs three queries with or without a second factor: the account, its factors, the session or the challenge', async () => {
    const plain = await createUser(t);
    await login(t, plain); // a first sign-in may rehash; the budget is about the usual one
    const { user } = await userWithTotp();

    const withoutFactor = await queriesDuring(() => login(t, plain));
    const withFactor = await queriesDuring(() => passwordStep(user));

    expect(withoutFactor).toHaveLength(3);
    expect(withFactor).toHaveLength(3);
    expect(withFactor.at(-1)).toMatch(/login_challenges/);
  });
});
