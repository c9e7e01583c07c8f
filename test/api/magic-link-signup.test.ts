import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { magicTokenIn, requestMagicLink, settle } from '../helpers/magic-links.js';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';
import { createUser } from '../helpers/users.js';
import { SoftAuthenticator } from '../helpers/webauthn.js';

const APP_URL = 'https://app.example.test';
const STRONG = 'harbor-quill-saffron-ledger-39';

let smtp: TestSmtpServer;
let t: TestApp;
/** Tight per-address and per-client budgets, for the rate-limit cases only. */
let tight: TestApp;

beforeAll(async () => {
  smtp = await startSmtpServer();
  t = await createTestApp({ lenientLimits: true, env: { SMTP_URL: smtp.url, APP_URL, MAGIC_LINK_SIGNUP: 'true' } });
  tight = await createTestApp({ lenientLimits: true, env: { SMTP_URL: smtp.url, APP_URL, MAGIC_LINK_ADDRESS_MAX: '2', MAGIC_LINK_CLIENT_MAX: '4' } });
});
afterAll(async () => {
  await t?.close();
  await tight?.close();
  await smtp?.close();
});

const uniqueEmail = (label: string) => `${label}-${randomUUID().slice(0, 8)}@example.com`;

/** A new account made by a magic link; its session's tokens. */
async function signUp(name?: string) {
  const email = uniqueEmail('newcomer');
  const token = await requestMagicLink(t, smtp, APP_URL, email, { transport: 'body', ...(name && { name }) });
  const res = await request(t.app).post('/api/auth/magic-link/verify').send({ token }).expect(200);
  return { email, auth: `Bearer ${res.body.accessToken}`, body: res.body };
}

describe('MAGIC_LINK_SIGNUP=true', () => {
  it('mails an unknown address a link that creates a verified account without a password', async () => {
    const { email, body } = await signUp('Nora Newcomer');

    expect(smtp.to(email)[0]!.subject).toBe('Create your Confidant account');
    expect(body.user).toMatchObject({ email, name: 'Nora Newcomer', emailVerified: true, role: 'user' });
    const row = await t.context.models.User.findOne({ where: { email } });
    expect(row!.passwordHash).toBe('!');
    await t.context.events.flush();
    expect(await t.context.models.SecurityEvent.count({ where: { userId: row!.id, type: 'account_created' } })).toBe(1);
  });

  it('names the account after the address when no name was given', async () => {
    const { email, body } = await signUp();
    expect(body.user.name).toBe(email.split('@')[0]);
  });

  it('never lets a password sign in to such an account: the same 401 as a wrong password', async () => {
    const { email } = await signUp();
    for (const password of ['!', '', 'anything-at-all-123']) {
      const res = await request(t.app).post('/api/auth/login').send({ email, password: password || 'x', transport: 'body' }).expect(401);
      expect(res.body.code).toBe('INVALID_CREDENTIALS');
    }
  });

  it('does not make a second account when the address registered in the meantime', async () => {
    const email = uniqueEmail('race');
    const token = await requestMagicLink(t, smtp, APP_URL, email, { transport: 'body' });
    const existing = await createUser(t, { email });

    const res = await request(t.app).post('/api/auth/magic-link/verify').send({ token }).expect(200);

    expect(res.body.user.id).toBe(existing.id);
    expect(await t.context.models.User.count({ where: { email } })).toBe(1);
  });
});

describe('POST /api/auth/password (an account without a password adds one)', () => {
  it('adds a password that then signs in; the step-up methods offer no password before', async () => {
    const { email, auth } = await signUp();
    const account = await t.context.models.User.findOne({ where: { email } });
    await t.context.models.AuthSession.update({ authenticatedAt: new Date(Date.now() - 10 * 60_000) }, { where: { userId: account!.id } });
    const stale = await request(t.app).post('/api/auth/password').set('Authorization', auth).send({ password: STRONG }).expect(401);
    expect(stale.body).toMatchObject({ code: 'REAUTHENTICATION_REQUIRED', methods: ['magic_link'] });

    const fresh = await request(t.app).post('/api/auth/magic-link/verify').send({ token: await requestMagicLink(t, smtp, APP_URL, email, { transport: 'body' }) }).expect(200);
    const added = await request(t.app).post('/api/auth/password').set('Authorization', `Bearer ${fresh.body.accessToken}`).send({ password: STRONG }).expect(200);

    expect(added.body.status).toBe('password_added');
    await request(t.app).post('/api/auth/login').send({ email, password: STRONG, transport: 'body' }).expect(200);
    await settle(t);
    expect(smtp.to(email).at(-1)!.subject).toBe('A password was added to your account');
  });

  it('steps up with a magic link to the caller’s own address (not another’s), then deletes the account without a password', async () => {
    const { email, auth } = await signUp();
    const account = await t.context.models.User.findOne({ where: { email } });
    await t.context.models.AuthSession.update({ authenticatedAt: new Date(Date.now() - 10 * 60_000) }, { where: { userId: account!.id } });
    await request(t.app).delete('/api/users/me').set('Authorization', auth).send({}).expect(401);

    const someoneElse = await createUser(t);
    const theirs = await requestMagicLink(t, smtp, APP_URL, someoneElse.email, { transport: 'body' });
    expect((await request(t.app).post('/api/auth/magic-link/reauthenticate').set('Authorization', auth).send({ token: theirs }).expect(400)).body.code).toBe('INVALID_OR_EXPIRED_TOKEN');

    const mine = await requestMagicLink(t, smtp, APP_URL, email, { transport: 'body' });
    const renewed = await request(t.app).post('/api/auth/magic-link/reauthenticate').set('Authorization', auth).send({ token: mine }).expect(200);
    expect(renewed.body).toEqual({ authenticatedAt: expect.any(String), validUntil: expect.any(String) });
    await request(t.app).post('/api/auth/magic-link/reauthenticate').set('Authorization', auth).send({ token: mine }).expect(400);

    await request(t.app).delete('/api/users/me').set('Authorization', auth).send({}).expect(204);
    expect(await t.context.models.User.count({ where: { email } })).toBe(0);
  });

  it('refuses a weak password with 400 and keeps the account without one', async () => {
    const { email, auth } = await signUp();
    const res = await request(t.app).post('/api/auth/password').set('Authorization', auth).send({ password: 'password1234' }).expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect((await t.context.models.User.findOne({ where: { email } }))!.passwordHash).toBe('!');
  });

  it('answers 409 to an account that has a password, which stays as it was', async () => {
    const user = await createUser(t);
    const before = (await t.context.models.User.findByPk(user.id))!.passwordHash;
    const loginRes = await request(t.app).post('/api/auth/login').send({ email: user.email, password: user.password, transport: 'body' }).expect(200);
    const res = await request(t.app).post('/api/auth/password').set('Authorization', `Bearer ${loginRes.body.accessToken}`).send({ password: STRONG }).expect(409);
    expect(res.body.code).toBe('PASSWORD_ALREADY_SET');
    expect((await t.context.models.User.findByPk(user.id))!.passwordHash).toBe(before);
  });
});

describe('DELETE /api/users/me without a password', () => {
  it('deletes an account that has none on the step-up alone', async () => {
    const { email, auth } = await signUp();
    await request(t.app).delete('/api/users/me').set('Authorization', auth).send({}).expect(204);
    expect(await t.context.models.User.count({ where: { email } })).toBe(0);
  });

  it('still asks an account with a password for it (400), and keeps the account', async () => {
    const user = await createUser(t);
    const loginRes = await request(t.app).post('/api/auth/login').send({ email: user.email, password: user.password, transport: 'body' }).expect(200);
    await request(t.app).delete('/api/users/me').set('Authorization', `Bearer ${loginRes.body.accessToken}`).send({}).expect(400);
    expect(await t.context.models.User.count({ where: { id: user.id } })).toBe(1);
  });
});

describe('DELETE /api/auth/passkeys/:id on an account without a password', () => {
  const authenticator = new SoftAuthenticator(APP_URL);
  async function addPasskey(auth: string): Promise<string> {
    const options = await request(t.app).post('/api/auth/passkeys/register/options').set('Authorization', auth).expect(200);
    const created = await request(t.app).post('/api/auth/passkeys/register/verify').set('Authorization', auth).send({ response: authenticator.create(options.body).response }).expect(201);
    return created.body.id as string;
  }

  it('refuses to remove its last passkey (409 LAST_SIGN_IN_METHOD) but removes one of two, and the last once it has a password', async () => {
    const { auth } = await signUp();
    const first = await addPasskey(auth);
    const res = await request(t.app).delete(`/api/auth/passkeys/${first}`).set('Authorization', auth).expect(409);
    expect(res.body.code).toBe('LAST_SIGN_IN_METHOD');

    const second = await addPasskey(auth);
    await request(t.app).delete(`/api/auth/passkeys/${second}`).set('Authorization', auth).expect(204);
    await request(t.app).post('/api/auth/password').set('Authorization', auth).send({ password: STRONG }).expect(200);
    await request(t.app).delete(`/api/auth/passkeys/${first}`).set('Authorization', auth).expect(204);
  });
});

describe('the magic-link rate limits', () => {
  it('mails one address at most MAGIC_LINK_ADDRESS_MAX times per window, with the same 202 throughout', async () => {
    const user = await createUser(tight);
    const bodies = [];
    for (let i = 0; i < 3; i += 1) bodies.push((await request(tight.app).post('/api/auth/magic-link').send({ email: user.email }).expect(202)).body);
    await settle(tight);

    expect(new Set(bodies.map((body) => JSON.stringify(body))).size).toBe(1);
    expect(smtp.to(user.email)).toHaveLength(2);
    magicTokenIn(smtp.to(user.email)[1]!, APP_URL);
    await tight.context.events.flush();
    const limited = await tight.context.models.SecurityEvent.findAll({ where: { type: 'rate_limited', userId: user.id } });
    expect(limited.map((event) => event.metadata.scope)).toEqual(['magic_link_address']);
  });

  it('answers 429 to a client past MAGIC_LINK_CLIENT_MAX requests, whatever the addresses, and mails nothing more', async () => {
    const client = await createTestApp({ lenientLimits: true, env: { SMTP_URL: smtp.url, APP_URL, MAGIC_LINK_CLIENT_MAX: '2' } });
    try {
      const users = [await createUser(client), await createUser(client), await createUser(client)];
      await request(client.app).post('/api/auth/magic-link').send({ email: users[0]!.email }).expect(202);
      await request(client.app).post('/api/auth/magic-link').send({ email: users[1]!.email }).expect(202);
      const refused = await request(client.app).post('/api/auth/magic-link').send({ email: users[2]!.email }).expect(429);
      await settle(client);

      expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(refused.headers['retry-after']).toBeDefined();
      expect(smtp.to(users[2]!.email)).toHaveLength(0);
    } finally {
      await client.close();
    }
  });

  it.skipIf(!process.env.REDIS_URL)('keeps one client budget for every instance that shares Redis', async () => {
    const env = { SMTP_URL: smtp.url, APP_URL, MAGIC_LINK_CLIENT_MAX: '2', REDIS_URL: process.env.REDIS_URL!, REDIS_KEY_PREFIX: `confidant-magic-${randomBytes(4).toString('hex')}:` };
    const [one, two] = [await createTestApp({ lenientLimits: true, env }), await createTestApp({ lenientLimits: true, env })];
    try {
      await request(one.app).post('/api/auth/magic-link').send({ email: uniqueEmail('shared') }).expect(202);
      await request(two.app).post('/api/auth/magic-link').send({ email: uniqueEmail('shared') }).expect(202);
      await request(one.app).post('/api/auth/magic-link').send({ email: uniqueEmail('shared') }).expect(429);
      await Promise.all([settle(one), settle(two)]);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('counts in the auth tier too', async () => {
    const limited = await createTestApp({ env: { SMTP_URL: smtp.url, APP_URL, RATE_LIMIT_AUTH_MAX: '2', MAGIC_LINK_CLIENT_MAX: '100' } });
    try {
      await request(limited.app).post('/api/auth/magic-link').send({ email: 'a@example.com' }).expect(202);
      await request(limited.app).post('/api/auth/magic-link/verify').send({ token: 'A'.repeat(43) }).expect(400);
      const res = await request(limited.app).post('/api/auth/magic-link').send({ email: 'a@example.com' }).expect(429);
      expect(res.body.code).toBe('RATE_LIMITED');
      await settle(limited);
    } finally {
      await limited.close();
    }
  });
});
