import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { requestMagicLink, settle } from '../helpers/magic-links.js';
import { enrolTotp, nextTotpCode } from '../helpers/mfa.js';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';
import { createUser, login } from '../helpers/users.js';

const APP_URL = 'https://app.example.test';
const ACCEPTED = { status: 'accepted', message: 'If the address can sign in, we have sent it a link.' };

let smtp: TestSmtpServer;
let t: TestApp;

beforeAll(async () => {
  smtp = await startSmtpServer();
  t = await createTestApp({ lenientLimits: true, env: { SMTP_URL: smtp.url, APP_URL } });
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

const uniqueEmail = (label: string) => `${label}-${randomUUID().slice(0, 8)}@example.com`;
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const verify = (token: unknown) => request(t.app).post('/api/auth/magic-link/verify').send({ token });

async function eventsOf(type: string, userId: string | null) {
  await t.context.events.flush();
  return t.context.models.SecurityEvent.findAll({ where: { type, userId }, order: [['createdAt', 'ASC']] });
}

describe('POST /api/auth/magic-link', () => {
  it('answers 202 with the same body for an account, an unknown address and a disabled account, and mails only the account', async () => {
    const user = await createUser(t);
    const disabled = await createUser(t);
    await t.context.models.User.update({ disabledAt: new Date() }, { where: { id: disabled.id } });
    const unknown = uniqueEmail('nobody');

    const bodies = [];
    for (const email of [user.email, unknown, disabled.email]) {
      const res = await request(t.app).post('/api/auth/magic-link').send({ email }).expect(202);
      bodies.push(res.body);
    }
    await settle(t);

    expect(bodies).toEqual([ACCEPTED, ACCEPTED, ACCEPTED]);
    expect(smtp.to(user.email)).toHaveLength(1);
    expect(smtp.to(user.email)[0]!.subject).toBe('Your sign-in link');
    expect(smtp.to(unknown)).toHaveLength(0);
    expect(smtp.to(disabled.email)).toHaveLength(0);
    expect(await t.context.models.MagicLink.count({ where: { email: unknown } })).toBe(0);
    expect(await eventsOf('magic_link_requested', user.id)).toHaveLength(1);
    const unknownEvents = (await eventsOf('magic_link_requested', null)).filter((event) => event.metadata.known === false);
    expect(unknownEvents.length).toBeGreaterThan(0);
  });

  it('stores only the hash of a 256-bit token, for 15 minutes, linking to APP_URL with the token in the fragment', async () => {
    const user = await createUser(t);
    const token = await requestMagicLink(t, smtp, APP_URL, user.email);

    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    const row = await t.context.models.MagicLink.findOne({ where: { userId: user.id } });
    expect(row!.tokenHash).toBe(sha256(token));
    expect(JSON.stringify(row!.get({ plain: true }))).not.toContain(token);
    expect(row!.expiresAt.getTime() - row!.createdAt.getTime()).toBe(15 * 60_000);
    expect(smtp.to(user.email)[0]!.text).toContain(`${APP_URL}/magic-link#token=${token}`);
  });

  it('refuses a body that is not an address with a 400 problem, and stores nothing', async () => {
    const before = await t.context.models.MagicLink.count();
    for (const body of [{}, { email: 'not-an-address' }, { email: 'a@example.com', extra: true }, { email: 'a@example.com', transport: 'carrier-pigeon' }]) {
      const res = await request(t.app).post('/api/auth/magic-link').send(body).expect(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
    await settle(t);
    expect(await t.context.models.MagicLink.count()).toBe(before);
  });
});

describe('POST /api/auth/magic-link/verify', () => {
  it('signs in with the transport chosen at the request: tokens in the body, a login_success by magic link', async () => {
    const user = await createUser(t);
    const token = await requestMagicLink(t, smtp, APP_URL, user.email, { transport: 'body', rememberMe: true });

    const res = await verify(token).expect(200);

    expect(res.body).toMatchObject({ tokenType: 'Bearer', refreshToken: expect.any(String), user: { id: user.id }, session: { rememberMe: true } });
    expect(res.headers['set-cookie']).toBeUndefined();
    await request(t.app).get('/api/auth/me').set('Authorization', `Bearer ${res.body.accessToken}`).expect(200);
    const [success] = await eventsOf('login_success', user.id);
    expect(success!.metadata).toMatchObject({ method: 'magic_link' });
    expect(await eventsOf('magic_link_used', user.id)).toHaveLength(1);
  });

  it('sets the refresh cookie when the request chose the cookie transport (the default)', async () => {
    const user = await createUser(t);
    const token = await requestMagicLink(t, smtp, APP_URL, user.email);

    const res = await verify(token).expect(200);

    expect(res.body.csrfToken).toEqual(expect.any(String));
    expect(res.body.refreshToken).toBeUndefined();
    expect(([] as string[]).concat(res.headers['set-cookie'] ?? []).join(';')).toMatch(/confidant_refresh=.*HttpOnly/i);
  });

  it('works once: a second use, an expired link and an unknown token get the same 400', async () => {
    const user = await createUser(t);
    const token = await requestMagicLink(t, smtp, APP_URL, user.email, { transport: 'body' });
    await verify(token).expect(200);
    const reused = await verify(token).expect(400);
    expect(reused.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');

    const late = await requestMagicLink(t, smtp, APP_URL, user.email, { transport: 'body' });
    await t.context.models.MagicLink.update({ expiresAt: new Date(Date.now() - 1000) }, { where: { tokenHash: sha256(late) } });
    expect((await verify(late).expect(400)).body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    expect((await verify('A'.repeat(43)).expect(400)).body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
  });

  it('lets only the newest link of an address work', async () => {
    const user = await createUser(t);
    const first = await requestMagicLink(t, smtp, APP_URL, user.email, { transport: 'body' });
    const second = await requestMagicLink(t, smtp, APP_URL, user.email, { transport: 'body' });

    await verify(first).expect(400);
    await verify(second).expect(200);
  });

  it('lets one of two concurrent uses of a link sign in, never both', async () => {
    const user = await createUser(t);
    const token = await requestMagicLink(t, smtp, APP_URL, user.email, { transport: 'body' });

    const answers = await Promise.all([verify(token), verify(token), verify(token)]);

    expect(answers.map((res) => res.status).sort()).toEqual([200, 400, 400]);
  });

  it('refuses a token that is not shaped like one with a 400 problem', async () => {
    for (const token of [undefined, '', 'short', 'A'.repeat(44), 42]) {
      const res = await verify(token).expect(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
  });

  it('verifies the address of an account that had not confirmed it', async () => {
    const user = await createUser(t, { verified: false });
    const token = await requestMagicLink(t, smtp, APP_URL, user.email, { transport: 'body' });

    const res = await verify(token).expect(200);

    expect(res.body.user.emailVerified).toBe(true);
    expect((await t.context.models.User.findByPk(user.id))!.emailVerifiedAt).not.toBeNull();
  });

  it('answers mfaRequired for an account with a second factor, and the challenge completes with the link’s transport', async () => {
    const user = await createUser(t);
    const { secret } = await enrolTotp(t, `Bearer ${(await login(t, user)).accessToken}`);
    const sessionsBefore = await t.context.models.AuthSession.count({ where: { userId: user.id } });
    const token = await requestMagicLink(t, smtp, APP_URL, user.email, { transport: 'body' });

    const step = await verify(token).expect(200);

    expect(step.body).toEqual({ mfaRequired: true, challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), methods: ['totp', 'recovery_code'] });
    expect(await t.context.models.AuthSession.count({ where: { userId: user.id } })).toBe(sessionsBefore);
    const done = await request(t.app).post('/api/auth/mfa/verify').send({ challenge: step.body.challenge, code: await nextTotpCode(secret) }).expect(200);
    expect(done.body.refreshToken).toEqual(expect.any(String));
  });

  it('refuses a link of an account disabled after it was sent', async () => {
    const user = await createUser(t);
    const token = await requestMagicLink(t, smtp, APP_URL, user.email, { transport: 'body' });
    await t.context.models.User.update({ disabledAt: new Date() }, { where: { id: user.id } });

    expect((await verify(token).expect(403)).body.code).toBe('ACCOUNT_DISABLED');
  });
});

describe('without MAGIC_LINK_SIGNUP (the default)', () => {
  it('sends nothing to an unknown address, so no account can be made this way', async () => {
    const email = uniqueEmail('stranger');
    await request(t.app).post('/api/auth/magic-link').send({ email, name: 'Would Be' }).expect(202);
    await settle(t);
    expect(smtp.to(email)).toHaveLength(0);
    expect(await t.context.models.User.count({ where: { email } })).toBe(0);
  });
});
