import { createHash } from 'node:crypto';
import argon2 from 'argon2';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { verifyPassword } from '../../src/crypto/passwords.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, TEST_PASSWORD } from '../helpers/users.js';

const DAY_MS = 86_400_000;

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
});
afterAll(() => t.close());

function cookieNamed(setCookie: string[] | string | undefined, name: string): string | undefined {
  const all = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  return all.find((cookie) => cookie.startsWith(`${name}=`));
}

function attributesOf(cookie: string): string[] {
  return cookie.split(';').slice(1).map((part) => part.trim().toLowerCase());
}

function sessionsOf(userId: string) {
  return t.context.models.AuthSession.findAll({ where: { userId } });
}

describe('POST /api/auth/login', () => {
  describe('body transport', () => {
    it('returns the access token, user, session and refresh token, and stores only the token hash', async () => {
      const user = await createUser(t);

      const res = await request(t.app)
        .post('/api/auth/login')
        .set('User-Agent', 'confidant-ios/2.1')
        .send({ email: user.email, password: user.password, transport: 'body' })
        .expect(200);

      expect(res.body).toEqual({
        accessToken: expect.any(String),
        tokenType: 'Bearer',
        expiresIn: 900,
        user: expect.objectContaining({ id: user.id, email: user.email, role: 'user', emailVerified: true }),
        session: { id: expect.any(String), expiresAt: expect.any(String), rememberMe: false },
        refreshToken: expect.stringMatching(/^[0-9a-f-]{36}\.0\.[A-Za-z0-9_-]{43}$/),
      });
      expect(res.body.user).not.toHaveProperty('passwordHash');
      expect(res.text).not.toContain('$argon2');
      expect(cookieNamed(res.headers['set-cookie'], 'confidant_refresh')).toBeUndefined();
      const [session] = await sessionsOf(user.id);
      expect(session!.id).toBe(res.body.session.id);
      expect(session!.refreshTokenHash).toBe(createHash('sha256').update(res.body.refreshToken).digest('hex'));
      expect(session!.userAgent).toBe('confidant-ios/2.1');
      expect(session!.ip).toMatch(/127\.0\.0\.1/);
      expect(session!.revokedAt).toBeNull();
    });

    it('accepts the email in another case and with spaces around it', async () => {
      const user = await createUser(t);

      const res = await request(t.app)
        .post('/api/auth/login')
        .send({ email: `  ${user.email.toUpperCase()} `, password: user.password, transport: 'body' })
        .expect(200);

      expect(res.body.user.id).toBe(user.id);
    });
  });

  describe('cookie transport (the default)', () => {
    it('sets an HttpOnly, SameSite=Strict refresh cookie on /api/auth, not Secure outside production', async () => {
      const user = await createUser(t);

      const res = await request(t.app).post('/api/auth/login').send({ email: user.email, password: user.password }).expect(200);

      const refresh = cookieNamed(res.headers['set-cookie'], 'confidant_refresh');
      expect(refresh).toBeDefined();
      expect(attributesOf(refresh!)).toEqual(expect.arrayContaining(['httponly', 'samesite=strict', 'path=/api/auth']));
      expect(attributesOf(refresh!)).not.toContain('secure');
      expect(res.body).not.toHaveProperty('refreshToken');
      expect(res.body.csrfToken).toEqual(expect.any(String));
      expect(decodeURIComponent(cookieNamed(res.headers['set-cookie'], 'confidant_csrf')!.split(';')[0]!.split('=')[1]!)).toBe(res.body.csrfToken);
      const token = decodeURIComponent(refresh!.split(';')[0]!.slice('confidant_refresh='.length));
      const [session] = await sessionsOf(user.id);
      expect(session!.refreshTokenHash).toBe(createHash('sha256').update(token).digest('hex'));
    });

    it('marks the refresh cookie Secure in production, under the __Secure- name', async () => {
      const config = loadConfig({
        NODE_ENV: 'production',
        STORAGE_LOCAL_ALLOWED: 'true',
        DATABASE_URL: t.config.database.url ?? 'postgres://unused@127.0.0.1:1/unused', // the app below uses the test database
        CORS_ORIGINS: 'https://app.example.com',
        PUBLIC_URL: 'https://api.example.com',
        // The signing keys in the shared database are sealed under the test app's secret.
        AUTH_SECRET: t.config.secrets.authSecret,
        DATA_ENCRYPTION_KEY: t.config.secrets.dataEncryptionKey,
        LOG_LEVEL: 'silent',
      });
      const { app } = createApp({ config, sequelize: t.sequelize });
      const user = await createUser(t);

      const res = await request(app).post('/api/auth/login').send({ email: user.email, password: user.password }).expect(200);

      const refresh = cookieNamed(res.headers['set-cookie'], '__Secure-confidant_refresh');
      expect(attributesOf(refresh!)).toEqual(expect.arrayContaining(['secure', 'httponly', 'samesite=strict', 'path=/api/auth']));
      expect(attributesOf(cookieNamed(res.headers['set-cookie'], '__Secure-confidant_csrf')!)).toContain('secure');
      expect(await sessionsOf(user.id)).toHaveLength(1);
    });
  });

  describe('refusals', () => {
    it('gives a wrong password and an unknown email the same status and body', async () => {
      const user = await createUser(t);

      const wrongPassword = await request(t.app).post('/api/auth/login').send({ email: user.email, password: 'not-the-right-password-1' });
      const unknownEmail = await request(t.app).post('/api/auth/login').send({ email: 'nobody-here@example.com', password: user.password });

      expect(wrongPassword.status).toBe(401);
      expect(unknownEmail.status).toBe(401);
      expect(wrongPassword.body.code).toBe('INVALID_CREDENTIALS');
      expect({ ...wrongPassword.body, requestId: undefined }).toEqual({ ...unknownEmail.body, requestId: undefined });
      expect(wrongPassword.headers['www-authenticate']).toBe(unknownEmail.headers['www-authenticate']);
      expect(await sessionsOf(user.id)).toHaveLength(0);
    });

    it('refuses a disabled account with 403 ACCOUNT_DISABLED and opens no session', async () => {
      const user = await createUser(t);
      await t.context.models.User.update({ disabledAt: new Date() }, { where: { id: user.id } });

      const res = await request(t.app).post('/api/auth/login').send({ email: user.email, password: user.password }).expect(403);

      expect(res.body.code).toBe('ACCOUNT_DISABLED');
      expect(await sessionsOf(user.id)).toHaveLength(0);
    });

    it('lets an unverified account in when REQUIRE_EMAIL_VERIFICATION is off (the test default)', async () => {
      const user = await createUser(t, { verified: false });

      const res = await request(t.app).post('/api/auth/login').send({ email: user.email, password: user.password, transport: 'body' }).expect(200);

      expect(res.body.user.emailVerified).toBe(false);
      expect(await sessionsOf(user.id)).toHaveLength(1);
    });

    it.each([
      ['an unknown key', { email: 'x@example.com', password: 'whatever-it-is-1', admin: true }],
      ['an unknown transport', { email: 'x@example.com', password: 'whatever-it-is-1', transport: 'header' }],
      ['a string rememberMe', { email: 'x@example.com', password: 'whatever-it-is-1', rememberMe: 'yes' }],
      ['no password', { email: 'x@example.com' }],
    ])('answers %s with 400 VALIDATION_FAILED', async (_label, body) => {
      const res = await request(t.app).post('/api/auth/login').send(body).expect(400);

      expect(res.body.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('with REQUIRE_EMAIL_VERIFICATION=true', () => {
    let strict: TestApp;
    beforeAll(async () => {
      strict = await createTestApp({ lenientLimits: true, env: { REQUIRE_EMAIL_VERIFICATION: 'true' } });
    });
    afterAll(() => strict.close());

    it('refuses an unverified account with 403 EMAIL_NOT_VERIFIED and opens no session', async () => {
      const user = await createUser(strict, { verified: false });

      const res = await request(strict.app).post('/api/auth/login').send({ email: user.email, password: user.password }).expect(403);

      expect(res.body.code).toBe('EMAIL_NOT_VERIFIED');
      expect(await strict.context.models.AuthSession.count({ where: { userId: user.id } })).toBe(0);
    });

    it('lets a verified account in', async () => {
      const user = await createUser(strict);

      await request(strict.app).post('/api/auth/login').send({ email: user.email, password: user.password }).expect(200);

      expect(await strict.context.models.AuthSession.count({ where: { userId: user.id } })).toBe(1);
    });

    it('still answers a wrong password for an unverified account with INVALID_CREDENTIALS', async () => {
      const user = await createUser(strict, { verified: false });

      const res = await request(strict.app).post('/api/auth/login').send({ email: user.email, password: 'not-the-right-password-1' }).expect(401);

      expect(res.body.code).toBe('INVALID_CREDENTIALS');
    });
  });

  describe('password rehash', () => {
    it('rehashes a hash with weaker parameters (t=1) to t=2 on a successful login', async () => {
      const user = await createUser(t);
      const weak = await argon2.hash(TEST_PASSWORD, { type: argon2.argon2id, memoryCost: 19_456, timeCost: 1, parallelism: 1 });
      await t.context.models.User.update({ passwordHash: weak }, { where: { id: user.id } });

      await request(t.app).post('/api/auth/login').send({ email: user.email, password: user.password, transport: 'body' }).expect(200);

      const stored = (await t.context.models.User.findByPk(user.id))!.passwordHash;
      expect(stored).not.toBe(weak);
      expect(stored).toMatch(/^\$argon2id\$/);
      expect(stored.split('$')[3]!.split(',')).toEqual(expect.arrayContaining(['m=19456', 't=2', 'p=1']));
      expect(await verifyPassword(stored, TEST_PASSWORD)).toBe(true);
    });

    it('leaves a current hash alone', async () => {
      const user = await createUser(t);
      const before = (await t.context.models.User.findByPk(user.id))!.passwordHash;

      await request(t.app).post('/api/auth/login').send({ email: user.email, password: user.password, transport: 'body' }).expect(200);

      expect((await t.context.models.User.findByPk(user.id))!.passwordHash).toBe(before);
    });

    it('does not rehash on a failed login', async () => {
      const user = await createUser(t);
      const weak = await argon2.hash(TEST_PASSWORD, { type: argon2.argon2id, memoryCost: 19_456, timeCost: 1, parallelism: 1 });
      await t.context.models.User.update({ passwordHash: weak }, { where: { id: user.id } });

      await request(t.app).post('/api/auth/login').send({ email: user.email, password: 'not-the-right-password-1' }).expect(401);

      expect((await t.context.models.User.findByPk(user.id))!.passwordHash).toBe(weak);
    });
  });

  describe('rememberMe', () => {
    it('gives a session about 7 days without it and about 30 days with it', async () => {
      const user = await createUser(t);

      const short = await request(t.app).post('/api/auth/login').send({ email: user.email, password: user.password, transport: 'body' }).expect(200);
      const long = await request(t.app)
        .post('/api/auth/login')
        .send({ email: user.email, password: user.password, transport: 'body', rememberMe: true })
        .expect(200);

      const daysFromNow = (iso: string) => (new Date(iso).getTime() - Date.now()) / DAY_MS;
      expect(daysFromNow(short.body.session.expiresAt)).toBeCloseTo(7, 1);
      expect(daysFromNow(long.body.session.expiresAt)).toBeCloseTo(30, 1);
      expect(long.body.session.rememberMe).toBe(true);
      const shortRow = await t.context.models.AuthSession.findByPk(short.body.session.id);
      const longRow = await t.context.models.AuthSession.findByPk(long.body.session.id);
      expect(shortRow!.rememberMe).toBe(false);
      expect(longRow!.rememberMe).toBe(true);
      expect((shortRow!.expiresAt.getTime() - Date.now()) / DAY_MS).toBeCloseTo(7, 1);
      expect((longRow!.expiresAt.getTime() - Date.now()) / DAY_MS).toBeCloseTo(30, 1);
    });

    it('gives the cookie transport a cookie that lives as long as the session', async () => {
      const user = await createUser(t);

      const res = await request(t.app).post('/api/auth/login').send({ email: user.email, password: user.password, rememberMe: true }).expect(200);

      const maxAge = attributesOf(cookieNamed(res.headers['set-cookie'], 'confidant_refresh')!).find((part) => part.startsWith('max-age='));
      expect(Number(maxAge!.split('=')[1]) / 86_400).toBeCloseTo(30, 1);
    });
  });

  describe('security events', () => {
    it('records login_success with the session and login_failure for the wrong password', async () => {
      const user = await createUser(t);

      const ok = await request(t.app).post('/api/auth/login').set('User-Agent', 'events-agent').send({ email: user.email, password: user.password }).expect(200);
      await request(t.app).post('/api/auth/login').set('User-Agent', 'events-agent').send({ email: user.email, password: 'not-the-right-password-1' }).expect(401);
      await t.context.events.flush();

      const events = await t.context.models.SecurityEvent.findAll({ where: { userId: user.id }, order: [['createdAt', 'ASC']] });
      expect(events.map((event) => event.type)).toEqual(['login_success', 'login_failure']);
      expect(events[0]!.metadata).toMatchObject({ sessionId: ok.body.session.id, rememberMe: false });
      expect(events[1]!.metadata).toMatchObject({ failures: 1 });
      for (const event of events) {
        expect(event.userAgent).toBe('events-agent');
        expect(event.ip).toMatch(/127\.0\.0\.1/);
        expect(JSON.stringify(event.metadata)).not.toMatch(/password|token|hash/i);
      }
    });
  });
});
