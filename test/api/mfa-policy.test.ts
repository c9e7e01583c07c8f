import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { enrolTotp, nextTotpCode } from '../helpers/mfa.js';
import { createUser, login } from '../helpers/users.js';
import { SoftAuthenticator } from '../helpers/webauthn.js';

/** MFA_REQUIRED_ROLES=admin,counselor, as production has it by default. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true, env: { MFA_REQUIRED_ROLES: 'admin,counselor' } });
});
afterAll(() => t.close());

async function eventsOf(userId: string, type: string) {
  await t.context.events.flush();
  return t.context.models.SecurityEvent.findAll({ where: { userId, type } });
}

describe('MFA_REQUIRED_ROLES: a counselor or admin without a second factor', () => {
  it('gets an enrolment-only session, said in the login answer and the event', async () => {
    const counselor = await createUser(t, { role: 'counselor' });

    const issued = await login(t, counselor);

    expect(issued).toMatchObject({ mfaEnrolmentRequired: true, accessToken: expect.any(String), refreshToken: expect.any(String) });
    const [event] = await eventsOf(counselor.id, 'login_success');
    expect(event!.metadata).toMatchObject({ enrolmentOnly: true });
  });

  it('can do nothing but enrol: 403 MFA_ENROLMENT_REQUIRED elsewhere, what they are and what to set up answered', async () => {
    for (const role of ['counselor', 'admin'] as const) {
      const person = await createUser(t, { role });
      const auth = `Bearer ${(await login(t, person)).accessToken}`;
      const refused = ['/api/sessions', '/api/users/me', '/api/dashboard/summary', '/api/auth/sessions', ...(role === 'admin' ? ['/api/admin/users', '/api/errors/stats'] : [])];

      for (const path of refused) {
        const res = await request(t.app).get(path).set('Authorization', auth).expect(403);
        expect(res.body.code, path).toBe('MFA_ENROLMENT_REQUIRED');
      }
      await request(t.app).post('/api/sessions').set('Authorization', auth).send({ topic: 'not yet' }).expect(403);
      expect(await t.context.models.CounselingSession.count({ where: { userId: person.id } })).toBe(0);
      await request(t.app).get('/api/auth/me').set('Authorization', auth).expect(200);
      const status = await request(t.app).get('/api/auth/mfa').set('Authorization', auth).expect(200);
      expect(status.body).toMatchObject({ required: true, totp: { enabled: false } });
    }
  });

  it('becomes a full session by enrolling and refreshing; the next sign-in asks for the second factor', async () => {
    const counselor = await createUser(t, { role: 'counselor' });
    const issued = await login(t, counselor);
    const restricted = `Bearer ${issued.accessToken}`;

    const { secret } = await enrolTotp(t, restricted);
    // The token in hand stays what it was; the refresh mints one from the account as it is now.
    await request(t.app).get('/api/sessions').set('Authorization', restricted).expect(403);
    const refreshed = await request(t.app).post('/api/auth/refresh').send({ refreshToken: issued.refreshToken }).expect(200);
    expect(refreshed.body).not.toHaveProperty('mfaEnrolmentRequired');
    await request(t.app).get('/api/sessions').set('Authorization', `Bearer ${refreshed.body.accessToken}`).expect(200);

    const next = await request(t.app).post('/api/auth/login').send({ email: counselor.email, password: counselor.password, transport: 'body' }).expect(200);
    expect(next.body).toMatchObject({ mfaRequired: true, methods: ['totp', 'recovery_code'] });
    const verified = await request(t.app).post('/api/auth/mfa/verify').send({ challenge: next.body.challenge, code: await nextTotpCode(secret) }).expect(200);
    expect(verified.body).not.toHaveProperty('mfaEnrolmentRequired');
    await request(t.app).get('/api/sessions').set('Authorization', `Bearer ${verified.body.accessToken}`).expect(200);
  });

  it('is satisfied by a passkey: registered from the enrolment-only session, then a full session and passkey sign-ins', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const issued = await login(t, admin);
    const restricted = `Bearer ${issued.accessToken}`;
    const authenticator = new SoftAuthenticator('http://localhost:5173');

    const options = await request(t.app).post('/api/auth/passkeys/register/options').set('Authorization', restricted).expect(200);
    const { passkey, response } = authenticator.create(options.body);
    await request(t.app).post('/api/auth/passkeys/register/verify').set('Authorization', restricted).send({ response }).expect(201);
    const refreshed = await request(t.app).post('/api/auth/refresh').send({ refreshToken: issued.refreshToken }).expect(200);
    await request(t.app).get('/api/admin/users').set('Authorization', `Bearer ${refreshed.body.accessToken}`).expect(200);

    const signInOptions = await request(t.app).post('/api/auth/passkeys/login/options').expect(200);
    const signedIn = await request(t.app).post('/api/auth/passkeys/login/verify').send({ response: authenticator.get(passkey, signInOptions.body), transport: 'body' }).expect(200);
    expect(signedIn.body).not.toHaveProperty('mfaEnrolmentRequired');
    await request(t.app).get('/api/admin/users').set('Authorization', `Bearer ${signedIn.body.accessToken}`).expect(200);
  });

  it('refreshes an enrolment-only session into another enrolment-only one while nothing is enrolled', async () => {
    const admin = await createUser(t, { role: 'admin' });
    const issued = await login(t, admin);

    const refreshed = await request(t.app).post('/api/auth/refresh').send({ refreshToken: issued.refreshToken }).expect(200);

    expect(refreshed.body.mfaEnrolmentRequired).toBe(true);
    await request(t.app).get('/api/admin/users').set('Authorization', `Bearer ${refreshed.body.accessToken}`).expect(403);
  });

  it('cannot remove the last second factor: 409 LAST_SECOND_FACTOR, the factor stays', async () => {
    const counselor = await createUser(t, { role: 'counselor' });
    await enrolTotp(t, `Bearer ${(await login(t, counselor)).accessToken}`);
    const step = await request(t.app).post('/api/auth/login').send({ email: counselor.email, password: counselor.password, transport: 'body' }).expect(200);
    const secret = (await t.context.models.TotpFactor.findOne({ where: { userId: counselor.id } }))!;
    const full = await request(t.app)
      .post('/api/auth/mfa/verify')
      .send({ challenge: step.body.challenge, code: await nextTotpCode(t.infra.cipher.decrypt(secret.secretEncrypted, `totp-factor:${secret.id}`)) })
      .expect(200);

    const res = await request(t.app).delete('/api/auth/mfa/totp').set('Authorization', `Bearer ${full.body.accessToken}`).expect(409);

    expect(res.body.code).toBe('LAST_SECOND_FACTOR');
    expect(await t.context.models.TotpFactor.count({ where: { userId: counselor.id } })).toBe(1);
  });
});

describe('MFA_REQUIRED_ROLES: a role outside it', () => {
  it('signs a client in with a password alone, to a full session', async () => {
    const client = await createUser(t);

    const issued = await login(t, client);

    expect(issued).not.toHaveProperty('mfaEnrolmentRequired');
    await request(t.app).get('/api/sessions').set('Authorization', `Bearer ${issued.accessToken}`).expect(200);
  });
});
