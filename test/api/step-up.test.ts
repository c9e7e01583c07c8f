import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { enrolTotp, nextTotpCode, totpCode } from '../helpers/mfa.js';
import { createUser, login, TEST_PASSWORD } from '../helpers/users.js';

const MINUTE_MS = 60_000;
const STRONG = 'quartz-meadow-lantern-violin-83';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
});
afterAll(() => t.close());
afterEach(() => {
  vi.useRealTimers();
});

/** The clock, moved forward (only Date: timers and sockets run as usual). */
function advance(ms: number): void {
  if (!vi.isFakeTimers()) vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
  vi.setSystemTime(Date.now() + ms);
}

/** A signed-in person with an authenticator app; `auth` is a session opened just now. */
async function signedIn() {
  const user = await createUser(t);
  const issued = await login(t, user);
  const auth = `Bearer ${issued.accessToken}`;
  const { secret, recoveryCodes } = await enrolTotp(t, auth);
  return { user, auth, secret, recoveryCodes, refreshToken: issued.refreshToken, sessionId: issued.session.id };
}

const reauthenticate = (auth: string, body: object) => request(t.app).post('/api/auth/reauthenticate').set('Authorization', auth).send(body);

async function eventsOf(userId: string, type: string) {
  await t.context.events.flush();
  return t.context.models.SecurityEvent.findAll({ where: { userId, type } });
}

describe('sensitive actions need an authentication within the last 5 minutes', () => {
  it('refuses each of them 6 minutes after sign-in with 401 REAUTHENTICATION_REQUIRED naming the methods, and changes nothing', async () => {
    const { user, auth } = await signedIn();
    const codesBefore = (await t.context.models.RecoveryCode.findAll({ where: { userId: user.id } })).map((row) => row.codeHash).sort();
    advance(6 * MINUTE_MS);

    const attempts = [
      request(t.app).delete('/api/auth/mfa/totp').set('Authorization', auth),
      request(t.app).post('/api/auth/mfa/recovery-codes').set('Authorization', auth),
      request(t.app).post('/api/auth/change-password').set('Authorization', auth).send({ currentPassword: TEST_PASSWORD, newPassword: STRONG }),
      request(t.app).delete('/api/users/me').set('Authorization', auth).send({ password: TEST_PASSWORD }),
    ];
    for (const attempt of attempts) {
      const res = await attempt.expect(401);
      expect(res.body).toMatchObject({ code: 'REAUTHENTICATION_REQUIRED', methods: ['password', 'totp', 'magic_link'] });
      expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_user_authentication", max_age=300');
    }

    // The access token itself is still good, and nothing was changed.
    await request(t.app).get('/api/auth/me').set('Authorization', auth).expect(200);
    expect(await t.context.models.TotpFactor.count({ where: { userId: user.id } })).toBe(1);
    expect((await t.context.models.RecoveryCode.findAll({ where: { userId: user.id } })).map((row) => row.codeHash).sort()).toEqual(codesBefore);
    await login(t, user); // the password is unchanged and the account exists
  });

  it('allows them again for 5 minutes after POST /api/auth/reauthenticate with the password', async () => {
    const { user, auth, sessionId } = await signedIn();
    advance(10 * MINUTE_MS);

    const res = await reauthenticate(auth, { password: TEST_PASSWORD }).expect(200);

    expect(new Date(res.body.validUntil).getTime() - new Date(res.body.authenticatedAt).getTime()).toBe(5 * MINUTE_MS);
    expect((await t.context.models.AuthSession.findByPk(sessionId))!.authenticatedAt!.toISOString()).toBe(res.body.authenticatedAt);
    advance(4 * MINUTE_MS);
    await request(t.app).post('/api/auth/mfa/recovery-codes').set('Authorization', auth).expect(200);
    advance(2 * MINUTE_MS);
    await request(t.app).post('/api/auth/mfa/recovery-codes').set('Authorization', auth).expect(401);
    const [event] = await eventsOf(user.id, 'reauthenticated');
    expect(event!.metadata).toMatchObject({ sessionId, method: 'password' });
  });

  it('accepts a current authenticator code once: the same code does not reauthenticate twice', async () => {
    const { auth, secret } = await signedIn();
    advance(6 * MINUTE_MS);
    const code = await nextTotpCode(secret);

    await reauthenticate(auth, { code }).expect(200);
    const again = await reauthenticate(auth, { code }).expect(403);

    expect(again.body.code).toBe('REAUTHENTICATION_FAILED');
    await request(t.app).delete('/api/auth/mfa/totp').set('Authorization', auth).expect(204);
  });

  it('counts wrong passwords and codes in the account’s login slowing and records them', async () => {
    const { user, auth, secret } = await signedIn();
    const current = new Set([await totpCode(secret, -1), await totpCode(secret), await totpCode(secret, 1)]);
    const wrongCode = ['000000', '111111', '222222'].find((code) => !current.has(code))!;

    for (let i = 0; i < 3; i += 1) expect((await reauthenticate(auth, { password: 'not-my-password-at-all' })).status).toBe(403);
    for (let i = 0; i < 2; i += 1) expect((await reauthenticate(auth, { code: wrongCode })).status).toBe(403);
    const slowed = await reauthenticate(auth, { password: TEST_PASSWORD }).expect(429);

    expect(slowed.body.code).toBe('LOGIN_THROTTLED');
    expect((await eventsOf(user.id, 'login_failure')).filter((event) => event.metadata.reason === 'reauthenticate')).toHaveLength(3);
    expect((await eventsOf(user.id, 'mfa_challenge_failed')).filter((event) => event.metadata.purpose === 'reauthenticate')).toHaveLength(2);
    expect(await eventsOf(user.id, 'reauthenticated')).toHaveLength(0);
  });

  it('counts per login session: reauthenticating one session does not open another, and a refresh is no authentication', async () => {
    const user = await createUser(t);
    const first = await login(t, user);
    const other = await login(t, user);
    const { auth, refreshToken } = { auth: `Bearer ${first.accessToken}`, refreshToken: first.refreshToken };
    await enrolTotp(t, auth);
    advance(6 * MINUTE_MS);

    await reauthenticate(`Bearer ${other.accessToken}`, { password: TEST_PASSWORD }).expect(200);
    const refreshed = await request(t.app).post('/api/auth/refresh').send({ refreshToken }).expect(200);

    await request(t.app).post('/api/auth/mfa/recovery-codes').set('Authorization', auth).expect(401);
    await request(t.app).post('/api/auth/mfa/recovery-codes').set('Authorization', `Bearer ${refreshed.body.accessToken}`).expect(401);
    await request(t.app).post('/api/auth/mfa/recovery-codes').set('Authorization', `Bearer ${other.accessToken}`).expect(200);
  });

  it('treats a session without a recorded authentication time (from before step-up existed) as not recent', async () => {
    const { auth, sessionId } = await signedIn();
    await t.context.models.AuthSession.update({ authenticatedAt: null }, { where: { id: sessionId } });

    await request(t.app).delete('/api/auth/mfa/totp').set('Authorization', auth).expect(401);
  });

  it('names only the password for a person without a second factor', async () => {
    const user = await createUser(t);
    const { accessToken } = await login(t, user);
    advance(6 * MINUTE_MS);

    const res = await request(t.app).delete('/api/users/me').set('Authorization', `Bearer ${accessToken}`).send({ password: TEST_PASSWORD }).expect(401);

    expect(res.body.methods).toEqual(['password', 'magic_link']);
  });

  it.each([
    ['no body', undefined],
    ['an empty object', {}],
    ['both a password and a code', { password: TEST_PASSWORD, code: '123456' }],
    ['an empty password', { password: '' }],
    ['a code of the wrong shape', { code: '12ab56' }],
    ['an unknown key', { password: TEST_PASSWORD, sessionId: '00000000-0000-4000-8000-000000000000' }],
  ])('POST /api/auth/reauthenticate refuses %s with 400 and records nothing', async (_name, body) => {
    const { user, auth, sessionId } = await signedIn();
    const before = (await t.context.models.AuthSession.findByPk(sessionId))!.authenticatedAt;

    const req = request(t.app).post('/api/auth/reauthenticate').set('Authorization', auth);
    const res = await (body === undefined ? req : req.send(body)).expect(400);

    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect((await t.context.models.AuthSession.findByPk(sessionId))!.authenticatedAt).toEqual(before);
    expect(await eventsOf(user.id, 'reauthenticated')).toHaveLength(0);
  });
});
