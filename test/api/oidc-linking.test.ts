import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { magicTokenIn, settle } from '../helpers/magic-links.js';
import { enrolTotp, nextTotpCode } from '../helpers/mfa.js';
import { APP_PUBLIC_URL, callBack, codeFrom, cookiesOf, exchange, startAndSignIn, throughProvider } from '../helpers/oidc-browser.js';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { freePort } from '../helpers/redis-server.js';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';
import { createUser, login, userWithToken } from '../helpers/users.js';

const APP_URL = 'https://app.example.test';
const callbackOf = (id: string) => `${APP_PUBLIC_URL}/api/auth/oidc/${id}/callback`;

let idp: TestOidcProvider;
/** A second provider, stopped in the middle of a sign-in. */
let flaky: TestOidcProvider;
let smtp: TestSmtpServer;
let t: TestApp;

beforeAll(async () => {
  smtp = await startSmtpServer();
  idp = await startOidcProvider({ redirectUris: [callbackOf('staff'), callbackOf('invite-only')] });
  flaky = await startOidcProvider({ redirectUris: [callbackOf('flaky')] });
  const provider = (id: string, name: string, at: TestOidcProvider | string, signup: boolean) => ({ id, name, issuer: typeof at === 'string' ? at : at.issuer, clientId: typeof at === 'string' ? 'x' : at.clientId, signup });
  t = await createTestApp({
    lenientLimits: true,
    env: {
      APP_URL,
      PUBLIC_URL: APP_PUBLIC_URL,
      SMTP_URL: smtp.url,
      MFA_REQUIRED_ROLES: 'counselor',
      OIDC_PROVIDERS: JSON.stringify([
        provider('staff', 'Practice login', idp, true),
        provider('invite-only', 'Invite-only login', idp, false),
        provider('flaky', 'Flaky login', flaky, false),
        // Nothing listens there: discovered never, and nothing else may notice.
        provider('absent', 'Absent login', `http://127.0.0.1:${await freePort()}`, false),
      ]),
      OIDC_STAFF_CLIENT_SECRET: idp.clientSecret,
      OIDC_INVITE_ONLY_CLIENT_SECRET: idp.clientSecret,
      OIDC_FLAKY_CLIENT_SECRET: flaky.clientSecret,
      OIDC_ABSENT_CLIENT_SECRET: 'irrelevant-secret',
    },
  });
  await t.modules.passwordless.discovery();
});
afterAll(async () => {
  await t?.close();
  await idp?.close();
  await flaky?.close();
  await smtp?.close();
});

const subject = () => `sub-${randomUUID()}`;

/** A whole sign-in at a provider of the app, to the exchange's answer. */
async function signInWith(provider: string, status: number) {
  const { callback, cookie } = await startAndSignIn(t, `/api/auth/oidc/${provider}/start?transport=body`);
  const back = await callBack(t, callback, cookie).expect(302);
  return exchange(t, codeFrom(back.headers.location as string)).expect(status);
}

/** A linking flow started by a signed-in person, up to the one-time code. */
async function linkCode(auth: string) {
  const started = await request(t.app).post('/api/auth/oidc/staff/link').set('Authorization', auth).send({}).expect(200);
  const callback = await throughProvider(started.body.url as string);
  const back = await callBack(t, callback, cookiesOf(started)).expect(302);
  return codeFrom(back.headers.location as string);
}

async function lastEvent(type: string) {
  await t.context.events.flush();
  return t.context.models.SecurityEvent.findOne({ where: { type }, order: [['createdAt', 'DESC']] });
}

describe('a first sign-in whose address belongs to an account', () => {
  it('is refused when the provider has not verified the address: no identity, a clear 403', async () => {
    const owner = await createUser(t);
    const sub = subject();
    idp.signInAs(sub, { email: owner.email, email_verified: false });

    const res = await signInWith('staff', 403);

    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe('OIDC_EMAIL_NOT_VERIFIED');
    expect(await t.context.models.OidcIdentity.count({ where: { subject: sub } })).toBe(0);
    expect((await lastEvent('oidc_login_refused'))!.get({ plain: true })).toMatchObject({ userId: owner.id, metadata: { provider: 'staff', reason: 'email_not_verified' } });
  });

  it('is refused with 409 when verified, and links once the owner follows the link mailed to the address', async () => {
    const owner = await createUser(t);
    const sub = subject();
    idp.signInAs(sub, { email: owner.email, email_verified: true });

    const refused = await signInWith('staff', 409);
    expect(refused.body.code).toBe('OIDC_LINK_REQUIRED');
    expect(await t.context.models.OidcIdentity.count({ where: { subject: sub } })).toBe(0);
    await settle(t);
    const mail = smtp.to(owner.email).at(-1)!;
    expect(mail.subject).toBe('Link your Practice login sign-in');

    const proven = await request(t.app).post('/api/auth/magic-link/verify').send({ token: magicTokenIn(mail, APP_URL) }).expect(200);
    expect(proven.body.user.id).toBe(owner.id);
    expect(await t.context.models.OidcIdentity.findOne({ where: { subject: sub } })).toMatchObject({ userId: owner.id, provider: 'staff' });

    const direct = await signInWith('staff', 200);
    expect(direct.body.user.id).toBe(owner.id);
  });
});

describe('POST /api/auth/oidc/:provider/link (a signed-in person links a provider)', () => {
  it('links the identity to the account that started it, whatever the provider’s address', async () => {
    const { user, auth } = await userWithToken(t);
    const sub = subject();
    idp.signInAs(sub, { email: `elsewhere-${randomUUID().slice(0, 8)}@example.org`, email_verified: false });

    const res = await exchange(t, await linkCode(auth), auth).expect(200);

    expect(res.body).toEqual({ linked: { provider: 'staff', email: expect.stringMatching(/^elsewhere-/) } });
    expect(await t.context.models.OidcIdentity.findOne({ where: { subject: sub } })).toMatchObject({ userId: user.id });
    expect((await lastEvent('identity_linked'))!.metadata).toEqual({ provider: 'staff', proof: 'session' });
  });

  it('refuses to finish for anyone but that account (403), and a second account cannot take a linked identity (409)', async () => {
    const starter = await userWithToken(t);
    const other = await userWithToken(t);
    const sub = subject();
    idp.signInAs(sub, { email: 'whoever@example.org', email_verified: true });

    expect((await exchange(t, await linkCode(starter.auth)).expect(403)).body.code).toBe('OIDC_LINK_NOT_YOURS');
    expect((await exchange(t, await linkCode(starter.auth), other.auth).expect(403)).body.code).toBe('OIDC_LINK_NOT_YOURS');
    expect(await t.context.models.OidcIdentity.count({ where: { subject: sub } })).toBe(0);

    await exchange(t, await linkCode(starter.auth), starter.auth).expect(200);
    expect((await exchange(t, await linkCode(other.auth), other.auth).expect(409)).body.code).toBe('IDENTITY_TAKEN');
  });

  it('answers 401 without a session', async () => {
    await request(t.app).post('/api/auth/oidc/staff/link').send({}).expect(401);
  });
});

describe('a provider that may not create accounts', () => {
  it('refuses an unknown identity with 403 OIDC_NO_ACCOUNT and creates nothing', async () => {
    const email = `unknown-${randomUUID().slice(0, 8)}@example.com`;
    idp.signInAs(subject(), { email, email_verified: true });

    expect((await signInWith('invite-only', 403)).body.code).toBe('OIDC_NO_ACCOUNT');
    expect(await t.context.models.User.count({ where: { email } })).toBe(0);
    expect((await lastEvent('oidc_login_refused'))!.metadata).toEqual({ provider: 'invite-only', reason: 'no_account' });
  });
});

describe('the MFA policy applies to provider sign-ins', () => {
  async function linkedUser(role: 'user' | 'counselor' = 'user') {
    const person = await createUser(t, { role });
    const sub = subject();
    // Linked as a proven sign-in would (a counselor's enrolment-only session may not start linking).
    await t.context.models.OidcIdentity.create({ userId: person.id, provider: 'staff', issuer: idp.issuer, subject: sub, email: person.email });
    idp.signInAs(sub, { email: person.email, email_verified: true });
    return { user: person, auth: `Bearer ${(await login(t, person)).accessToken}` };
  }

  it('answers mfaRequired for an account with a second factor; the challenge completes the sign-in', async () => {
    const person = await linkedUser();
    const { secret } = await enrolTotp(t, person.auth);

    const step = await signInWith('staff', 200);

    expect(step.body).toMatchObject({ mfaRequired: true, methods: ['totp', 'recovery_code'] });
    const done = await request(t.app).post('/api/auth/mfa/verify').send({ challenge: step.body.challenge, code: await nextTotpCode(secret) }).expect(200);
    expect(done.body.user.id).toBe(person.user.id);
  });

  it('opens only an enrolment session for a role that requires a factor and has none', async () => {
    const counselor = await linkedUser('counselor');
    const res = await signInWith('staff', 200);
    expect(res.body).toMatchObject({ user: { id: counselor.user.id }, mfaEnrolmentRequired: true });
  });
});

describe('GET and DELETE /api/auth/identities', () => {
  it('lists the caller’s identities and unlinks one with a recent sign-in; the account keeps its password', async () => {
    const person = await userWithToken(t);
    idp.signInAs(subject(), { email: person.user.email, email_verified: true });
    await exchange(t, await linkCode(person.auth), person.auth).expect(200);

    const listed = await request(t.app).get('/api/auth/identities').set('Authorization', person.auth).expect(200);
    expect(listed.body).toMatchObject({ password: true, items: [{ provider: 'staff', issuer: idp.issuer, email: person.user.email }] });

    const exported = await request(t.app).get('/api/users/me/export').set('Authorization', person.auth).expect(200);
    expect(exported.body.identities).toEqual(listed.body.items);

    await t.context.models.AuthSession.update({ authenticatedAt: new Date(Date.now() - 10 * 60_000) }, { where: { userId: person.user.id } });
    await request(t.app).delete(`/api/auth/identities/${listed.body.items[0].id}`).set('Authorization', person.auth).expect(401);
    await request(t.app).post('/api/auth/reauthenticate').set('Authorization', person.auth).send({ password: person.user.password }).expect(200);
    await request(t.app).delete(`/api/auth/identities/${listed.body.items[0].id}`).set('Authorization', person.auth).expect(204);

    expect((await request(t.app).get('/api/auth/identities').set('Authorization', person.auth).expect(200)).body.items).toEqual([]);
    expect((await lastEvent('identity_unlinked'))!.userId).toBe(person.user.id);
  });

  it('refuses to unlink the last way an account without a password signs in (409), and keeps it', async () => {
    idp.signInAs(subject(), { email: `only-oidc-${randomUUID().slice(0, 8)}@example.com`, email_verified: true });
    const signedUp = await signInWith('staff', 200);
    const auth = `Bearer ${signedUp.body.accessToken}`;
    const { body } = await request(t.app).get('/api/auth/identities').set('Authorization', auth).expect(200);
    expect(body.password).toBe(false);

    const res = await request(t.app).delete(`/api/auth/identities/${body.items[0].id}`).set('Authorization', auth).expect(409);

    expect(res.body.code).toBe('LAST_SIGN_IN_METHOD');
    expect(await t.context.models.OidcIdentity.count({ where: { userId: signedUp.body.user.id } })).toBe(1);

    // Deleting the account (no password to send) takes the identity with it.
    await request(t.app).delete('/api/users/me').set('Authorization', auth).send({}).expect(204);
    expect(await t.context.models.OidcIdentity.count({ where: { userId: signedUp.body.user.id } })).toBe(0);
  });

  it('answers 404 for somebody else’s identity, and leaves it linked', async () => {
    const owner = await userWithToken(t);
    idp.signInAs(subject(), { email: owner.user.email, email_verified: true });
    await exchange(t, await linkCode(owner.auth), owner.auth).expect(200);
    const [identity] = (await request(t.app).get('/api/auth/identities').set('Authorization', owner.auth).expect(200)).body.items;
    const stranger = await userWithToken(t);

    await request(t.app).delete(`/api/auth/identities/${identity.id}`).set('Authorization', stranger.auth).expect(404);
    expect(await t.context.models.OidcIdentity.count({ where: { id: identity.id } })).toBe(1);
  });
});

describe('a provider that cannot be reached', () => {
  it('never held up the start: it is listed as unavailable and its sign-in answers 503, the rest of the API unaffected', async () => {
    const listed = await request(t.app).get('/api/auth/oidc/providers').expect(200);
    expect(listed.body.items).toContainEqual({ id: 'absent', name: 'Absent login', available: false });
    expect(listed.body.items).toContainEqual({ id: 'staff', name: 'Practice login', available: true });

    const res = await request(t.app).get('/api/auth/oidc/absent/start').expect(503);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe('OIDC_PROVIDER_UNAVAILABLE');
    await request(t.app).get('/health').expect(200);
  });

  it('answers 503 when the provider goes down between the redirect and the callback; other sign-ins go on', async () => {
    flaky.signInAs(subject(), { email: 'flaky@example.com', email_verified: true });
    const { callback, cookie } = await startAndSignIn(t, '/api/auth/oidc/flaky/start?transport=body');
    await flaky.close();

    const res = await callBack(t, callback, cookie).expect(503);

    expect(res.body.code).toBe('OIDC_PROVIDER_UNAVAILABLE');
    const person = await createUser(t);
    await login(t, person);
    idp.signInAs(subject(), { email: `still-${randomUUID().slice(0, 8)}@example.com`, email_verified: true });
    await signInWith('staff', 200);
  });
});
