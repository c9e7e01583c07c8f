import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/env.js';
import type { LogFields, Logger } from '../../src/infra/logger.js';
import type { SecurityEventType } from '../../src/models/security-event.model.js';
import { LENIENT_LIMITS, createTestApp, type TestApp } from '../helpers/app.js';
import { startSmtpServer, type ReceivedMail, type TestSmtpServer } from '../helpers/smtp.js';
import { createUser, login, TEST_PASSWORD, userWithToken } from '../helpers/users.js';

const APP_URL = 'https://app.example.test';
const STRONG = 'amber-quarry-lantern-sextant-48';
const NEW_PASSWORD = 'cobalt-meadow-trellis-quartz-52';
const WEAK = 'password1234';
const ACCEPTED = { status: 'accepted', message: 'If the address belongs to an account, we have sent it an email.' };

const SUBJECT = {
  verify: 'Confirm your email address',
  attempt: 'Someone tried to register with your address',
  reset: 'Reset your password',
  changed: 'Your password was changed',
} as const;

const VERIFY_LINK = new RegExp(`${APP_URL.replace(/[.]/g, '\\.')}/verify-email#token=([A-Za-z0-9_-]{43})`);
const RESET_LINK = new RegExp(`${APP_URL.replace(/[.]/g, '\\.')}/reset-password#token=([A-Za-z0-9_-]{43})`);

function uniqueEmail(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}@example.com`;
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Everything the request started in the background: the mail flows, their mail, then the security events. */
async function settle(app: TestApp): Promise<void> {
  await app.modules.auth.idle();
  await app.context.mailer.idle();
  await app.context.events.flush();
}

/** The token of the link in the message; the text and HTML parts carry the same link. */
function tokenIn(mail: ReceivedMail, link: RegExp): string {
  const match = link.exec(mail.text);
  expect(match, `no ${link} in: ${mail.text}`).not.toBeNull();
  const token = match![1]!;
  expect(mail.html).toContain(`href="${match![0]}"`);
  return token;
}

async function eventsOf(app: TestApp, type: SecurityEventType, userId?: string | null) {
  await app.context.events.flush();
  const rows = await app.context.models.SecurityEvent.findAll({ where: { type, ...(userId !== undefined && { userId }) }, order: [['createdAt', 'ASC']] });
  return rows.map((row) => row.get({ plain: true }));
}

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

function post(app: TestApp, path: string, body: Record<string, unknown>, token?: string) {
  const req = request(app.app).post(path);
  return (token ? req.set('Authorization', `Bearer ${token}`) : req).send(body);
}

function me(app: TestApp, accessToken: string) {
  return request(app.app).get('/api/auth/me').set('Authorization', `Bearer ${accessToken}`);
}

/** Registers over HTTP and returns the verification token from the mail the SMTP server received. */
async function registerAndReadToken(app: TestApp, email: string, name = 'Ada Reader'): Promise<string> {
  await post(app, '/api/auth/register', { email, password: STRONG, name }).expect(202);
  await settle(app);
  const mail = await smtp.waitFor((m) => m.to === email && m.subject === SUBJECT.verify);
  return tokenIn(mail, VERIFY_LINK);
}

async function forgotAndReadToken(app: TestApp, email: string): Promise<string> {
  const before = smtp.to(email).filter((m) => m.subject === SUBJECT.reset).length;
  await post(app, '/api/auth/forgot-password', { email }).expect(202);
  await settle(app);
  const resets = smtp.to(email).filter((m) => m.subject === SUBJECT.reset);
  expect(resets).toHaveLength(before + 1);
  return tokenIn(resets.at(-1)!, RESET_LINK);
}

describe('email verification', () => {
  it('mails a verification link built on APP_URL (never the Host header) that verifies the account exactly once', async () => {
    const email = uniqueEmail('verify');
    const res = await request(t.app)
      .post('/api/auth/register')
      .set('Host', 'evil.example')
      .set('X-Forwarded-Host', 'evil.example')
      .send({ email, password: STRONG, name: 'Grace Verifier' })
      .expect(202);
    expect(res.body).toEqual({ status: 'accepted', message: expect.any(String) });
    await settle(t);

    const mails = smtp.to(email);
    expect(mails).toHaveLength(1);
    const mail = mails[0]!;
    expect(mail.subject).toBe(SUBJECT.verify);
    expect(mail.toHeader).toEqual([email]);
    expect(mail.text.match(/https?:\/\/\S+/g)!.every((link) => link.startsWith(`${APP_URL}/verify-email#token=`))).toBe(true);
    expect(`${mail.text}\n${mail.html}`).not.toContain('evil.example');
    const token = tokenIn(mail, VERIFY_LINK);

    const user = await t.context.models.User.findOne({ where: { email } });
    expect(user!.emailVerifiedAt).toBeNull();

    const verified = await post(t, '/api/auth/verify-email', { token }).expect(200);
    expect(verified.body).toEqual({ status: 'verified' });
    await user!.reload();
    expect(user!.emailVerifiedAt).toBeInstanceOf(Date);
    expect(await eventsOf(t, 'email_verified', user!.id)).toHaveLength(1);

    const again = await post(t, '/api/auth/verify-email', { token }).expect(400);
    expect(again.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    expect(await eventsOf(t, 'email_verified', user!.id)).toHaveLength(1);
  });

  it.each([
    ['a token that is too short', { token: 'abc' }],
    ['a token with characters outside base64url', { token: `${'A'.repeat(42)}=` }],
    ['a non-string token', { token: 12345 }],
    ['no token', {}],
    ['an extra key', { token: 'A'.repeat(43), userId: randomUUID() }],
  ])('refuses %s with 400 VALIDATION_FAILED', async (_label, body) => {
    const res = await post(t, '/api/auth/verify-email', body).expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });

  it('refuses a well-formed token that was never issued with 400 INVALID_OR_EXPIRED_TOKEN', async () => {
    const res = await post(t, '/api/auth/verify-email', { token: 'A'.repeat(43) }).expect(400);
    expect(res.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
  });

  it('does not accept a password reset token as a verification token, nor the reverse', async () => {
    const email = uniqueEmail('purpose');
    const verifyToken = await registerAndReadToken(t, email);
    const resetToken = await forgotAndReadToken(t, email);

    expect((await post(t, '/api/auth/verify-email', { token: resetToken }).expect(400)).body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    expect((await post(t, '/api/auth/reset-password', { token: verifyToken, password: NEW_PASSWORD }).expect(400)).body.code).toBe('INVALID_OR_EXPIRED_TOKEN');

    const user = await t.context.models.User.findOne({ where: { email } });
    expect(user!.emailVerifiedAt).toBeNull();
    // Both are still good for their own purpose.
    await post(t, '/api/auth/verify-email', { token: verifyToken }).expect(200);
    await post(t, '/api/auth/reset-password', { token: resetToken, password: NEW_PASSWORD }).expect(200);
  });

  it('lets exactly one of several simultaneous uses of a verification link succeed', async () => {
    const email = uniqueEmail('verify-race');
    const token = await registerAndReadToken(t, email);
    const user = await t.context.models.User.findOne({ where: { email } });

    const answers = await Promise.all([1, 2, 3, 4].map(() => post(t, '/api/auth/verify-email', { token })));

    expect(answers.map((a) => a.status).sort()).toEqual([200, 400, 400, 400]);
    expect(await eventsOf(t, 'email_verified', user!.id)).toHaveLength(1);
  });

  it('lets an unverified account log in while REQUIRE_EMAIL_VERIFICATION is off (the test default)', async () => {
    expect(t.config.requireEmailVerification).toBe(false);
    const email = uniqueEmail('unverified-login');
    await registerAndReadToken(t, email);

    const res = await post(t, '/api/auth/login', { email, password: STRONG, transport: 'body' }).expect(200);
    expect(res.body.user.email).toBe(email);
  });
});

describe('one-time token expiry and storage', () => {
  it('refuses TTLs below the minimum of 1 (EMAIL_VERIFICATION_TTL_H, PASSWORD_RESET_TTL_MIN)', () => {
    for (const name of ['EMAIL_VERIFICATION_TTL_H', 'PASSWORD_RESET_TTL_MIN']) {
      for (const value of ['0', '-1', '0.5']) {
        let error: unknown;
        try {
          loadConfig({ NODE_ENV: 'test', [name]: value });
        } catch (caught) {
          error = caught;
        }
        expect(error, `${name}=${value}`).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).problems.join(' ')).toContain(name);
      }
      expect(() => loadConfig({ NODE_ENV: 'test', [name]: '1' })).not.toThrow();
    }
  });

  it('issues verification tokens for 24 h and reset tokens for 30 min by default', async () => {
    const email = uniqueEmail('ttl');
    await registerAndReadToken(t, email);
    await forgotAndReadToken(t, email);
    const user = await t.context.models.User.findOne({ where: { email } });
    const rows = await t.context.models.OneTimeToken.findAll({ where: { userId: user!.id } });
    const lifetime = (purpose: string) => {
      const row = rows.find((r) => r.purpose === purpose)!;
      return row.expiresAt.getTime() - row.createdAt.getTime();
    };
    const MINUTE = 60_000;
    expect(Math.abs(lifetime('verify_email') - 24 * 60 * MINUTE)).toBeLessThan(MINUTE);
    expect(Math.abs(lifetime('reset_password') - 30 * MINUTE)).toBeLessThan(MINUTE);
  });

  it('refuses an expired verification token with 400 and leaves the account unverified', async () => {
    const email = uniqueEmail('expired-verify');
    const token = await registerAndReadToken(t, email);
    const user = await t.context.models.User.findOne({ where: { email } });
    const [moved] = await t.context.models.OneTimeToken.update({ expiresAt: new Date(Date.now() - 60_000) }, { where: { userId: user!.id, purpose: 'verify_email' } });
    expect(moved).toBe(1);

    const res = await post(t, '/api/auth/verify-email', { token }).expect(400);

    expect(res.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    await user!.reload();
    expect(user!.emailVerifiedAt).toBeNull();
    expect(await eventsOf(t, 'email_verified', user!.id)).toHaveLength(0);
  });

  it('refuses an expired reset token with 400 and leaves the password unchanged', async () => {
    const { email, password } = await createUser(t, { email: uniqueEmail('expired-reset') });
    const token = await forgotAndReadToken(t, email);
    const user = await t.context.models.User.findOne({ where: { email } });
    const [moved] = await t.context.models.OneTimeToken.update({ expiresAt: new Date(Date.now() - 60_000) }, { where: { userId: user!.id, purpose: 'reset_password' } });
    expect(moved).toBe(1);

    const res = await post(t, '/api/auth/reset-password', { token, password: NEW_PASSWORD }).expect(400);

    expect(res.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    await post(t, '/api/auth/login', { email, password, transport: 'body' }).expect(200);
    await post(t, '/api/auth/login', { email, password: NEW_PASSWORD, transport: 'body' }).expect(401);
  });

  it('stores only a SHA-256 hash: the raw token never appears in one_time_tokens', async () => {
    const email = uniqueEmail('hashed');
    const verifyToken = await registerAndReadToken(t, email);
    const resetToken = await forgotAndReadToken(t, email);

    const [rows] = await t.sequelize.query('SELECT * FROM one_time_tokens');
    const dump = JSON.stringify(rows);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const token of [verifyToken, resetToken]) {
      expect(dump).not.toContain(token);
      expect(dump).toContain(sha256(token));
    }
  });
});

describe('registration of an existing email', () => {
  it('answers exactly like a new registration, mails the owner a notice without a link and creates no second user', async () => {
    const existing = await createUser(t, { email: uniqueEmail('taken'), name: 'Owner Person' });
    const fresh = await post(t, '/api/auth/register', { email: uniqueEmail('fresh'), password: STRONG, name: 'Fresh Person' });
    const tokensBefore = await t.context.models.OneTimeToken.count({ where: { userId: existing.id } });

    const duplicate = await post(t, '/api/auth/register', { email: `  ${existing.email.toUpperCase()} `, password: 'other-granite-meadow-pylon-93', name: 'Intruder' });
    await settle(t);

    expect(duplicate.status).toBe(202);
    expect(duplicate.status).toBe(fresh.status);
    expect(duplicate.body).toEqual(fresh.body);
    expect(await t.context.models.User.count({ where: { email: existing.email } })).toBe(1);
    expect(await t.context.models.OneTimeToken.count({ where: { userId: existing.id } })).toBe(tokensBefore);

    const mails = smtp.to(existing.email);
    expect(mails.map((m) => m.subject)).toEqual([SUBJECT.attempt]);
    const notice = mails[0]!;
    expect(notice.text).toContain('Owner Person');
    expect(notice.text).not.toContain('Intruder');
    for (const part of [notice.text, notice.html]) {
      expect(part).not.toContain('#token=');
      expect(part).not.toContain('verify-email');
      expect(part).not.toMatch(/https?:\/\//);
    }
  });
});

describe('HTML escaping in mail', () => {
  const HOSTILE = '<img src=x onerror=alert(1)>';

  it('escapes a hostile name in the verification mail HTML', async () => {
    const email = uniqueEmail('xss-verify');
    await post(t, '/api/auth/register', { email, password: STRONG, name: HOSTILE }).expect(202);
    await settle(t);

    const mail = await smtp.waitFor((m) => m.to === email && m.subject === SUBJECT.verify);
    expect(mail.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(mail.html).not.toContain('<img src=x');
    expect(mail.html).not.toMatch(/<img/i);
  });

  it('escapes a hostile name in the registration-attempt and reset mails', async () => {
    const owner = await createUser(t, { email: uniqueEmail('xss-owner'), name: HOSTILE });
    await post(t, '/api/auth/register', { email: owner.email, password: STRONG, name: 'Someone' }).expect(202);
    await forgotAndReadToken(t, owner.email);

    const mails = smtp.to(owner.email);
    expect(mails.map((m) => m.subject).sort()).toEqual([SUBJECT.reset, SUBJECT.attempt].sort());
    for (const mail of mails) {
      expect(mail.html).toContain('&lt;img src=x');
      expect(mail.html).not.toContain('<img src=x');
    }
  });
});

describe('forgot and reset password', () => {
  it('answers 202 with the same body for a known and an unknown email, and mails only the known one', async () => {
    const known = await createUser(t, { email: uniqueEmail('forgot-known') });
    const unknownEmail = uniqueEmail('forgot-unknown');

    const a = await post(t, '/api/auth/forgot-password', { email: known.email }).expect(202);
    const b = await post(t, '/api/auth/forgot-password', { email: unknownEmail }).expect(202);
    await settle(t);

    expect(a.body).toEqual(ACCEPTED);
    expect(b.body).toEqual(a.body);
    expect(smtp.to(unknownEmail)).toHaveLength(0);
    const mails = smtp.to(known.email);
    expect(mails.map((m) => m.subject)).toEqual([SUBJECT.reset]);
    expect(tokenIn(mails[0]!, RESET_LINK)).toHaveLength(43);

    const knownEvents = await eventsOf(t, 'password_reset_request', known.id);
    expect(knownEvents).toHaveLength(1);
    expect(knownEvents[0]!.metadata).toMatchObject({ known: true });
    const anonymous = await eventsOf(t, 'password_reset_request', null);
    expect(anonymous.some((event) => event.metadata.known === false)).toBe(true);
    expect(JSON.stringify(anonymous)).not.toContain(unknownEmail);
  });

  it('invalidates the previous reset token when a new one is requested', async () => {
    const user = await createUser(t, { email: uniqueEmail('forgot-twice') });
    const first = await forgotAndReadToken(t, user.email);
    const second = await forgotAndReadToken(t, user.email);
    expect(second).not.toBe(first);

    const stale = await post(t, '/api/auth/reset-password', { token: first, password: NEW_PASSWORD }).expect(400);
    expect(stale.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');

    await post(t, '/api/auth/reset-password', { token: second, password: NEW_PASSWORD }).expect(200);
    await post(t, '/api/auth/login', { email: user.email, password: NEW_PASSWORD, transport: 'body' }).expect(200);
  });

  it('refuses a weak new password with 400 and keeps the token usable', async () => {
    const user = await createUser(t, { email: uniqueEmail('reset-weak'), name: 'Weak Tester' });
    const token = await forgotAndReadToken(t, user.email);

    const weak = await post(t, '/api/auth/reset-password', { token, password: WEAK }).expect(400);
    expect(weak.body.code).toBe('VALIDATION_FAILED');
    expect(weak.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'password' })]));
    const local = user.email.split('@')[0]!;
    const withEmail = await post(t, '/api/auth/reset-password', { token, password: `${local}-tundra-glacier-77` }).expect(400);
    expect(withEmail.body.errors).toContainEqual({ path: 'password', message: 'must not contain your email address' });
    await post(t, '/api/auth/login', { email: user.email, password: user.password, transport: 'body' }).expect(200);

    await post(t, '/api/auth/reset-password', { token, password: NEW_PASSWORD }).expect(200);
  });

  it('resets the password once, ends every session at once, records the event and mails a notice', async () => {
    const user = await createUser(t, { email: uniqueEmail('reset-full') });
    const first = await login(t, user);
    const second = await login(t, user);
    await me(t, first.accessToken).expect(200);
    await me(t, second.accessToken).expect(200);
    const token = await forgotAndReadToken(t, user.email);

    const res = await post(t, '/api/auth/reset-password', { token, password: NEW_PASSWORD }).expect(200);
    expect(res.body).toEqual({ status: 'password_reset', message: expect.any(String) });

    // Every access token issued before is refused at once; refresh tokens are dead too.
    expect((await me(t, first.accessToken).expect(401)).body.code).toBe('INVALID_TOKEN');
    expect((await me(t, second.accessToken).expect(401)).body.code).toBe('INVALID_TOKEN');
    await post(t, '/api/auth/refresh', { refreshToken: first.refreshToken }).expect(401);
    await post(t, '/api/auth/refresh', { refreshToken: second.refreshToken }).expect(401);
    const sessions = await t.context.models.AuthSession.findAll({ where: { userId: user.id } });
    expect(sessions.map((s) => s.revokedReason)).toEqual(['password_reset', 'password_reset']);

    // New password in, old password out.
    const fresh = await post(t, '/api/auth/login', { email: user.email, password: NEW_PASSWORD, transport: 'body' }).expect(200);
    await me(t, fresh.body.accessToken).expect(200);
    expect((await post(t, '/api/auth/login', { email: user.email, password: user.password, transport: 'body' }).expect(401)).body.code).toBe('INVALID_CREDENTIALS');

    await settle(t);
    expect(await eventsOf(t, 'password_reset_complete', user.id)).toHaveLength(1);
    const notices = smtp.to(user.email).filter((m) => m.subject === SUBJECT.changed);
    expect(notices).toHaveLength(1);
    expect(notices[0]!.text).not.toContain('#token=');
    expect(notices[0]!.text).not.toContain(NEW_PASSWORD);

    // The link works once only.
    const reused = await post(t, '/api/auth/reset-password', { token, password: 'another-saffron-turbine-ledger-64' }).expect(400);
    expect(reused.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    await post(t, '/api/auth/login', { email: user.email, password: NEW_PASSWORD, transport: 'body' }).expect(200);
    expect(await eventsOf(t, 'password_reset_complete', user.id)).toHaveLength(1);
  });

  it('lets exactly one of several simultaneous uses of a reset link succeed', async () => {
    const user = await createUser(t, { email: uniqueEmail('reset-race') });
    const token = await forgotAndReadToken(t, user.email);
    const passwords = [NEW_PASSWORD, 'another-saffron-turbine-ledger-64', 'third-walnut-glacier-pylon-19'];

    const answers = await Promise.all(passwords.map((password) => post(t, '/api/auth/reset-password', { token, password })));

    expect(answers.map((a) => a.status).sort()).toEqual([200, 400, 400]);
    const winner = passwords[answers.findIndex((a) => a.status === 200)]!;
    await post(t, '/api/auth/login', { email: user.email, password: winner, transport: 'body' }).expect(200);
    await settle(t);
    expect(await eventsOf(t, 'password_reset_complete', user.id)).toHaveLength(1);
    expect(smtp.to(user.email).filter((m) => m.subject === SUBJECT.changed)).toHaveLength(1);
  });

  it('accepts the email in any case and with spaces', async () => {
    const user = await createUser(t, { email: uniqueEmail('forgot-case') });

    await post(t, '/api/auth/forgot-password', { email: `  ${user.email.toUpperCase()}  ` }).expect(202);
    await settle(t);

    expect(smtp.to(user.email).map((m) => m.subject)).toEqual([SUBJECT.reset]);
  });

  /**
   * Overlapping forgot-password requests for one account: issue() takes turns on the user's
   * row, and using a link kills its siblings, so at most one mailed link ever works.
   */
  it('leaves at most one working reset link after simultaneous forgot-password requests', async () => {
    for (let round = 0; round < 5; round += 1) {
      const user = await createUser(t, { email: uniqueEmail(`forgot-race-${round}`) });
      await Promise.all([1, 2, 3, 4, 5].map(() => post(t, '/api/auth/forgot-password', { email: user.email }).expect(202)));
      await settle(t);
      const tokens = smtp.to(user.email).map((mail) => tokenIn(mail, RESET_LINK));
      expect(tokens).toHaveLength(5);

      let working = 0;
      for (const token of tokens) if ((await post(t, '/api/auth/reset-password', { token, password: NEW_PASSWORD })).status === 200) working += 1;

      expect(working, `round ${round}: ${working} of 5 reset links worked`).toBeLessThanOrEqual(1);
    }
  });

  it('verifies the email of an unverified account, since the reset link proves the address', async () => {
    const user = await createUser(t, { email: uniqueEmail('reset-verifies'), verified: false });
    const token = await forgotAndReadToken(t, user.email);

    await post(t, '/api/auth/reset-password', { token, password: NEW_PASSWORD }).expect(200);

    const row = await t.context.models.User.findByPk(user.id);
    expect(row!.emailVerifiedAt).toBeInstanceOf(Date);
  });

  it('sends no reset mail to a disabled account', async () => {
    const user = await createUser(t, { email: uniqueEmail('reset-disabled') });
    await t.context.models.User.update({ disabledAt: new Date() }, { where: { id: user.id } });

    await post(t, '/api/auth/forgot-password', { email: user.email }).expect(202);
    await settle(t);

    expect(smtp.to(user.email)).toHaveLength(0);
    expect(await t.context.models.OneTimeToken.count({ where: { userId: user.id } })).toBe(0);
  });

  it('refuses a malformed reset request with 400 VALIDATION_FAILED', async () => {
    expect((await post(t, '/api/auth/reset-password', { token: 'short', password: NEW_PASSWORD }).expect(400)).body.code).toBe('VALIDATION_FAILED');
    expect((await post(t, '/api/auth/reset-password', { token: 'A'.repeat(43) }).expect(400)).body.code).toBe('VALIDATION_FAILED');
    expect((await post(t, '/api/auth/forgot-password', { email: 'not-an-email' }).expect(400)).body.code).toBe('VALIDATION_FAILED');
  });
});

describe('POST /api/auth/change-password', () => {
  it('requires authentication', async () => {
    const res = await post(t, '/api/auth/change-password', { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD }).expect(401);
    expect(res.body.code).toEqual(expect.any(String));
  });

  it('refuses a wrong current password with 403 INVALID_CURRENT_PASSWORD and changes nothing', async () => {
    const caller = await userWithToken(t, { email: uniqueEmail('change-wrong') });

    const res = await post(t, '/api/auth/change-password', { currentPassword: 'definitely-not-the-password-9', newPassword: NEW_PASSWORD }, caller.accessToken).expect(403);

    expect(res.body.code).toBe('INVALID_CURRENT_PASSWORD');
    await post(t, '/api/auth/login', { email: caller.user.email, password: caller.user.password, transport: 'body' }).expect(200);
    await settle(t);
    expect(smtp.to(caller.user.email)).toHaveLength(0);
  });

  it('refuses a weak or unchanged new password with 400 on newPassword', async () => {
    const caller = await userWithToken(t, { email: uniqueEmail('change-weak') });

    const weak = await post(t, '/api/auth/change-password', { currentPassword: caller.user.password, newPassword: WEAK }, caller.accessToken).expect(400);
    expect(weak.body.code).toBe('VALIDATION_FAILED');
    expect(weak.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'newPassword' })]));

    const same = await post(t, '/api/auth/change-password', { currentPassword: caller.user.password, newPassword: caller.user.password }, caller.accessToken).expect(400);
    expect(same.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'newPassword' })]));

    await post(t, '/api/auth/login', { email: caller.user.email, password: caller.user.password, transport: 'body' }).expect(200);
  });

  it('changes the password, keeps the calling session, ends the others at once, records the event and mails a notice', async () => {
    const caller = await userWithToken(t, { email: uniqueEmail('change-ok') });
    const other = await login(t, caller.user);
    await me(t, other.accessToken).expect(200);

    const res = await post(t, '/api/auth/change-password', { currentPassword: caller.user.password, newPassword: NEW_PASSWORD }, caller.accessToken).expect(200);
    expect(res.body).toEqual({ status: 'password_changed', message: expect.any(String) });

    await me(t, caller.accessToken).expect(200);
    expect((await me(t, other.accessToken).expect(401)).body.code).toBe('INVALID_TOKEN');
    await post(t, '/api/auth/refresh', { refreshToken: other.refreshToken }).expect(401);
    await post(t, '/api/auth/refresh', { refreshToken: caller.refreshToken }).expect(200);
    expect((await t.context.models.AuthSession.findByPk(other.session.id))!.revokedReason).toBe('password_change');
    expect((await t.context.models.AuthSession.findByPk(caller.sessionId))!.revokedAt).toBeNull();

    await post(t, '/api/auth/login', { email: caller.user.email, password: NEW_PASSWORD, transport: 'body' }).expect(200);
    await post(t, '/api/auth/login', { email: caller.user.email, password: caller.user.password, transport: 'body' }).expect(401);

    await settle(t);
    const events = await eventsOf(t, 'password_change', caller.user.id);
    expect(events).toHaveLength(1);
    expect(events[0]!.metadata).toMatchObject({ endedSessions: 1 });
    expect(smtp.to(caller.user.email).map((m) => m.subject)).toEqual([SUBJECT.changed]);
  });
});

describe('POST /api/auth/resend-verification', () => {
  it('answers 202 with the same body for unverified, verified and unknown emails; only the unverified one gets a new link', async () => {
    const pendingEmail = uniqueEmail('resend-pending');
    const firstToken = await registerAndReadToken(t, pendingEmail);
    const verified = await createUser(t, { email: uniqueEmail('resend-verified') });
    const unknownEmail = uniqueEmail('resend-unknown');

    const answers = [];
    for (const email of [pendingEmail, verified.email, unknownEmail]) answers.push(await post(t, '/api/auth/resend-verification', { email }).expect(202));
    await settle(t);

    for (const answer of answers) expect(answer.body).toEqual(ACCEPTED);
    expect(smtp.to(verified.email)).toHaveLength(0);
    expect(smtp.to(unknownEmail)).toHaveLength(0);
    const verifications = smtp.to(pendingEmail).filter((m) => m.subject === SUBJECT.verify);
    expect(verifications).toHaveLength(2);
    const secondToken = tokenIn(verifications[1]!, VERIFY_LINK);
    expect(secondToken).not.toBe(firstToken);

    expect((await post(t, '/api/auth/verify-email', { token: firstToken }).expect(400)).body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    await post(t, '/api/auth/verify-email', { token: secondToken }).expect(200);
    expect((await t.context.models.User.findOne({ where: { email: pendingEmail } }))!.emailVerifiedAt).toBeInstanceOf(Date);

    // Once verified, resending sends nothing more.
    await post(t, '/api/auth/resend-verification', { email: pendingEmail }).expect(202);
    await settle(t);
    expect(smtp.to(pendingEmail).filter((m) => m.subject === SUBJECT.verify)).toHaveLength(2);
  });
});

describe('REQUIRE_EMAIL_VERIFICATION=true', () => {
  let strict: TestApp;
  beforeAll(async () => {
    strict = await createTestApp({ lenientLimits: true, env: { SMTP_URL: smtp.url, APP_URL, REQUIRE_EMAIL_VERIFICATION: 'true' } });
  });
  afterAll(() => strict?.close());

  it('refuses login with 403 EMAIL_NOT_VERIFIED until the emailed link is used, then signs in', async () => {
    const email = uniqueEmail('strict');
    const token = await registerAndReadToken(strict, email);

    const refused = await post(strict, '/api/auth/login', { email, password: STRONG, transport: 'body' }).expect(403);
    expect(refused.body.code).toBe('EMAIL_NOT_VERIFIED');
    expect(await strict.context.models.AuthSession.count()).toBe(0);

    await post(strict, '/api/auth/verify-email', { token }).expect(200);

    const res = await post(strict, '/api/auth/login', { email, password: STRONG, transport: 'body' }).expect(200);
    await me(strict, res.body.accessToken).expect(200);
  });
});

describe('the auth rate-limit tier on the mail flows (RATE_LIMIT_AUTH_MAX=2)', () => {
  let limited: TestApp;
  beforeAll(async () => {
    limited = await createTestApp({ env: { SMTP_URL: smtp.url, APP_URL, RATE_LIMIT_AUTH_MAX: '2', TRUST_PROXY: '1' } });
  });
  afterAll(() => limited?.close());
  let clients = 0;

  function from(address: string, path: string, body: Record<string, unknown>, token?: string) {
    const req = request(limited.app).post(path).set('X-Forwarded-For', address);
    return (token ? req.set('Authorization', `Bearer ${token}`) : req).send(body);
  }

  it.each([
    ['/api/auth/verify-email', { token: 'A'.repeat(43) }, 400],
    ['/api/auth/resend-verification', { email: 'nobody@example.com' }, 202],
    ['/api/auth/forgot-password', { email: 'nobody@example.com' }, 202],
    ['/api/auth/reset-password', { token: 'A'.repeat(43), password: NEW_PASSWORD }, 400],
  ])('answers the third POST %s from one client with 429', async (path, body, firstStatus) => {
    const address = `198.51.100.${(clients += 1)}`;
    await from(address, path, body).expect(firstStatus);
    await from(address, path, body).expect(firstStatus);

    const res = await from(address, path, body).expect(429);

    expect(res.body.code).toBe('RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('covers change-password, even for an authenticated caller', async () => {
    const user = await createUser(limited, { email: uniqueEmail('limited-change') });
    const session = await request(limited.app).post('/api/auth/login').set('X-Forwarded-For', '203.0.113.201').send({ email: user.email, password: user.password, transport: 'body' }).expect(200);
    const token = session.body.accessToken as string;
    const body = { currentPassword: 'definitely-not-the-password-9', newPassword: NEW_PASSWORD };

    await from('203.0.113.202', '/api/auth/change-password', body, token).expect(403);
    await from('203.0.113.202', '/api/auth/change-password', body, token).expect(403);
    const res = await from('203.0.113.202', '/api/auth/change-password', { currentPassword: user.password, newPassword: NEW_PASSWORD }, token).expect(429);

    expect(res.body.code).toBe('RATE_LIMITED');
    await request(limited.app).post('/api/auth/login').set('X-Forwarded-For', '203.0.113.203').send({ email: user.email, password: user.password, transport: 'body' }).expect(200);
  });

  it('sends no mail for a rate-limited forgot-password', async () => {
    const user = await createUser(limited, { email: uniqueEmail('limited-forgot') });
    for (let i = 0; i < 2; i += 1) await from('203.0.113.210', '/api/auth/forgot-password', { email: user.email }).expect(202);
    await from('203.0.113.210', '/api/auth/forgot-password', { email: user.email }).expect(429);
    await settle(limited);

    expect(smtp.to(user.email).filter((m) => m.subject === SUBJECT.reset)).toHaveLength(2);
  });
});

interface LogCall {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields;
}

function capturingLogger(): { logger: Logger; calls: LogCall[] } {
  const calls: LogCall[] = [];
  const at = (level: LogCall['level']) => (message: string, fields: LogFields = {}) => void calls.push({ level, message, fields });
  return { calls, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('development mail transport (no SMTP_URL)', () => {
  let dev: TestApp;
  const log = capturingLogger();
  beforeAll(async () => {
    dev = await createTestApp({ lenientLimits: true, env: { APP_URL }, deps: { logger: log.logger } });
  });
  afterAll(() => dev?.close());

  function loggedMail(email: string, subject: string): string {
    const call = log.calls.filter((c) => c.level === 'info' && c.fields.to === email && c.fields.subject === subject).at(-1);
    expect(call, `no logged mail "${subject}" to ${email}`).toBeDefined();
    return String(call!.fields.text);
  }

  it('logs each message with its link instead of sending it, and the logged links work', async () => {
    const email = uniqueEmail('dev');
    await post(dev, '/api/auth/register', { email, password: STRONG, name: 'Dev Person' }).expect(202);
    await settle(dev);

    const verifyText = loggedMail(email, SUBJECT.verify);
    const verifyToken = VERIFY_LINK.exec(verifyText)?.[1];
    expect(verifyToken).toHaveLength(43);
    expect(smtp.to(email)).toHaveLength(0);
    await post(dev, '/api/auth/verify-email', { token: verifyToken }).expect(200);

    await post(dev, '/api/auth/forgot-password', { email }).expect(202);
    await settle(dev);
    const resetToken = RESET_LINK.exec(loggedMail(email, SUBJECT.reset))?.[1];
    expect(resetToken).toHaveLength(43);
    await post(dev, '/api/auth/reset-password', { token: resetToken, password: NEW_PASSWORD }).expect(200);
    await post(dev, '/api/auth/login', { email, password: NEW_PASSWORD, transport: 'body' }).expect(200);

    await settle(dev);
    expect(loggedMail(email, SUBJECT.changed)).toContain('password');
    expect(log.calls.filter((c) => c.level === 'error')).toEqual([]);
  });
});

describe.skipIf(!process.env.DATABASE_URL)('production without SMTP_URL', () => {
  let prod: TestApp;
  const log = capturingLogger();
  beforeAll(async () => {
    prod = await createTestApp({
      env: {
        ...LENIENT_LIMITS,
        NODE_ENV: 'production',
        STORAGE_LOCAL_ALLOWED: 'true',
        APP_URL,
        CORS_ORIGINS: APP_URL,
        PUBLIC_URL: 'https://api.example.test',
        AUTH_SECRET: 'prod-test-auth-secret-0123456789abcdef0123',
        DATA_ENCRYPTION_KEY: 'prod-test-data-key-fedcba9876543210fedcba98',
        LOG_LEVEL: 'silent',
      },
      deps: { logger: log.logger },
    });
  });
  afterAll(() => prod?.close());

  it('warns that mail is off and never logs a message body or link', async () => {
    expect(prod.config.isProduction).toBe(true);
    expect(log.calls.some((c) => c.level === 'warn' && c.message.includes('SMTP_URL is not set'))).toBe(true);
    const email = uniqueEmail('prod');
    await post(prod, '/api/auth/register', { email, password: STRONG, name: 'Prod Person' }).expect(202);
    const existing = await createUser(prod, { email: uniqueEmail('prod-existing') });
    await post(prod, '/api/auth/register', { email: existing.email, password: STRONG, name: 'Prod Person' }).expect(202);
    await post(prod, '/api/auth/forgot-password', { email: existing.email }).expect(202);
    await settle(prod);

    // The flows did run (tokens were issued), and the mailer reported that nothing was sent.
    const user = await prod.context.models.User.findOne({ where: { email } });
    expect(await prod.context.models.OneTimeToken.count({ where: { userId: user!.id, purpose: 'verify_email' } })).toBe(1);
    expect(await prod.context.models.OneTimeToken.count({ where: { userId: existing.id, purpose: 'reset_password' } })).toBe(1);
    expect(log.calls.filter((c) => c.message.includes('mail not sent')).length).toBeGreaterThanOrEqual(3);

    const logged = JSON.stringify(log.calls);
    expect(logged).not.toContain('#token=');
    expect(logged).not.toContain(APP_URL);
    expect(logged).not.toContain('verify-email');
    expect(logged).not.toContain('reset-password');
    expect(logged).not.toContain('Please confirm your email address');
    expect(logged).not.toContain('A password reset was requested');
    expect(logged).not.toContain('Someone tried to create a Confidant account');
    expect(logged).not.toContain('Prod Person');
  });
});
