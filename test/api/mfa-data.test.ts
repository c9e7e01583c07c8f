import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { enrolTotp } from '../helpers/mfa.js';
import { createUser, login, TEST_PASSWORD } from '../helpers/users.js';
import { SoftAuthenticator } from '../helpers/webauthn.js';

let t: TestApp;
const authenticator = new SoftAuthenticator('http://localhost:5173');
beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
});
afterAll(() => t.close());

/** A person with an authenticator app, a named passkey and recovery codes; a session of theirs opened before. */
async function personWithFactors() {
  const user = await createUser(t);
  const issued = await login(t, user);
  const auth = `Bearer ${issued.accessToken}`;
  const { secret, recoveryCodes } = await enrolTotp(t, auth);
  const options = await request(t.app).post('/api/auth/passkeys/register/options').set('Authorization', auth).expect(200);
  const { response } = authenticator.create(options.body);
  await request(t.app).post('/api/auth/passkeys/register/verify').set('Authorization', auth).send({ response, name: 'Work laptop' }).expect(201);
  return { user, auth, secret, recoveryCodes };
}

async function rowsOf(userId: string) {
  const { TotpFactor, RecoveryCode, Passkey, LoginChallenge, WebauthnChallenge } = t.context.models;
  const where = { where: { userId } };
  return {
    totp: await TotpFactor.count(where),
    codes: await RecoveryCode.count(where),
    passkeys: await Passkey.count(where),
    challenges: (await LoginChallenge.count(where)) + (await WebauthnChallenge.count(where)),
  };
}

describe('GET /api/users/me/export', () => {
  it('lists the second factors by name and date, never a secret, key, credential id or hash', async () => {
    const { user, auth, secret, recoveryCodes } = await personWithFactors();

    const res = await request(t.app).get('/api/users/me/export').set('Authorization', auth).expect(200);

    expect(res.body.secondFactors).toEqual({
      totp: { confirmedAt: expect.any(String), lastUsedAt: expect.any(String), createdAt: expect.any(String) },
      passkeys: [{ name: 'Work laptop', deviceType: 'singleDevice', backedUp: false, createdAt: expect.any(String), lastUsedAt: null }],
      recoveryCodes: { total: 10, remaining: 10 },
    });
    const text = res.text;
    const [factor, passkey, code] = await Promise.all([
      t.context.models.TotpFactor.findOne({ where: { userId: user.id } }),
      t.context.models.Passkey.findOne({ where: { userId: user.id } }),
      t.context.models.RecoveryCode.findOne({ where: { userId: user.id } }),
    ]);
    for (const hidden of [secret, factor!.secretEncrypted, passkey!.publicKey, passkey!.credentialId, code!.codeHash, ...recoveryCodes]) expect(text).not.toContain(hidden);
  });
});

describe('DELETE /api/users/me', () => {
  it('removes the second factors and pending challenges with the account', async () => {
    const { user, auth } = await personWithFactors();
    await request(t.app).post('/api/auth/passkeys/register/options').set('Authorization', auth).expect(200);
    await request(t.app).post('/api/auth/login').send({ email: user.email, password: TEST_PASSWORD, transport: 'body' }).expect(200);
    expect(await rowsOf(user.id)).toEqual({ totp: 1, codes: 10, passkeys: 1, challenges: 2 });

    await request(t.app).delete('/api/users/me').set('Authorization', auth).send({ password: TEST_PASSWORD }).expect(204);

    expect(await rowsOf(user.id)).toEqual({ totp: 0, codes: 0, passkeys: 0, challenges: 0 });
  });
});

describe('POST /api/admin/users/:id/mfa/reset', () => {
  async function adminAuth() {
    const admin = await createUser(t, { role: 'admin' });
    return { admin, auth: `Bearer ${(await login(t, admin)).accessToken}` };
  }

  it('removes every factor with a stated reason, ends the person’s sessions, and shows them the event', async () => {
    const { user, auth: theirs } = await personWithFactors();
    const { admin, auth } = await adminAuth();

    const res = await request(t.app)
      .post(`/api/admin/users/${user.id}/mfa/reset`)
      .set('Authorization', auth)
      .send({ reason: 'Lost phone and recovery codes; identity checked by video call' })
      .expect(200);

    expect(res.body).toEqual({ removed: { totp: true, passkeys: 1, recoveryCodes: 10 }, endedSessions: 1 });
    expect(await rowsOf(user.id)).toMatchObject({ totp: 0, codes: 0, passkeys: 0 });
    await request(t.app).get('/api/auth/me').set('Authorization', theirs).expect(401);
    const again = await login(t, user); // the password alone signs in again, to enrol anew
    const events = await request(t.app).get('/api/users/me/security-events').set('Authorization', `Bearer ${again.accessToken}`).expect(200);
    const reset = events.body.items.find((event: { type: string }) => event.type === 'mfa_disabled');
    expect(reset.metadata).toMatchObject({ method: 'all', resetBy: admin.id, reason: 'Lost phone and recovery codes; identity checked by video call', webauthnCredentials: 1 });
  });

  it('refuses an admin resetting their own factors (403 OWN_FACTORS) and an unknown user (404)', async () => {
    const { admin, auth } = await adminAuth();
    const own = await request(t.app).post(`/api/admin/users/${admin.id}/mfa/reset`).set('Authorization', auth).send({ reason: 'I lost my own phone, honestly' }).expect(403);
    expect(own.body.code).toBe('OWN_FACTORS');
    await request(t.app).post('/api/admin/users/00000000-0000-4000-8000-000000000000/mfa/reset').set('Authorization', auth).send({ reason: 'A reason that is long enough' }).expect(404);
  });

  it.each([
    ['no reason', {}],
    ['a reason too short to say anything', { reason: 'lost' }],
    ['a reason with line breaks', { reason: 'lost the phone\nand the codes' }],
    ['an unknown key', { reason: 'Lost phone and recovery codes', keepPasskeys: true }],
  ])('refuses %s with 400 and removes nothing', async (_name, body) => {
    const { user } = await personWithFactors();
    const { auth } = await adminAuth();

    const res = await request(t.app).post(`/api/admin/users/${user.id}/mfa/reset`).set('Authorization', auth).send(body).expect(400);

    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(await rowsOf(user.id)).toMatchObject({ totp: 1, codes: 10, passkeys: 1 });
  });
});
