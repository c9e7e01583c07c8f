import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { LENIENT_LIMITS, createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, userWithToken } from '../helpers/users.js';

const SPA_ORIGIN = 'http://localhost:5173';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
});
afterAll(() => t.close());

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

function refreshWithBody(app: TestApp, refreshToken: string) {
  return request(app.app).post('/api/auth/refresh').send({ refreshToken });
}

function me(app: TestApp, accessToken: string) {
  return request(app.app).get('/api/auth/me').set('Authorization', `Bearer ${accessToken}`);
}

function cookieValue(setCookie: string[] | string | undefined, name: string): string | undefined {
  const all = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const cookie = all.find((line) => line.startsWith(`${name}=`));
  return cookie === undefined ? undefined : decodeURIComponent(cookie.split(';')[0]!.slice(name.length + 1));
}

/** Logs in with the cookie transport, as a browser SPA does, and keeps what the browser would keep. */
async function cookieLogin(app: TestApp) {
  const user = await createUser(app);
  const res = await request(app.app).post('/api/auth/login').send({ email: user.email, password: user.password }).expect(200);
  return {
    user,
    sessionId: res.body.session.id as string,
    refreshCookie: cookieValue(res.headers['set-cookie'], 'confidant_refresh')!,
    csrfCookie: cookieValue(res.headers['set-cookie'], 'confidant_csrf')!,
    csrfToken: res.body.csrfToken as string,
  };
}

function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('; ');
}

describe('POST /api/auth/refresh (body transport)', () => {
  it('returns a new access token and a rotated refresh token, and stores only hashes', async () => {
    const { user, refreshToken, sessionId } = await userWithToken(t);

    const res = await refreshWithBody(t, refreshToken).expect(200);

    expect(res.body).toMatchObject({ accessToken: expect.any(String), tokenType: 'Bearer', user: { id: user.id }, session: { id: sessionId } });
    expect(res.body.refreshToken).not.toBe(refreshToken);
    expect(res.body.refreshToken.startsWith(`${sessionId}.`)).toBe(true);
    const row = await t.context.models.AuthSession.findByPk(sessionId);
    expect(row!.refreshTokenHash).toBe(sha256(res.body.refreshToken));
    expect(row!.previousTokenHash).toBe(sha256(refreshToken));
    expect(row!.generation).toBe(1);
    expect(row!.rotatedAt).not.toBeNull();
    await me(t, res.body.accessToken).expect(200);
  });

  it('keeps rotating: the new token refreshes again', async () => {
    const { refreshToken, sessionId } = await userWithToken(t);
    const first = await refreshWithBody(t, refreshToken).expect(200);

    const second = await refreshWithBody(t, first.body.refreshToken).expect(200);

    expect(second.body.refreshToken).not.toBe(first.body.refreshToken);
    expect((await t.context.models.AuthSession.findByPk(sessionId))!.generation).toBe(2);
  });

  it('answers the replaced token within the grace window with the same new token (two tabs), and both work', async () => {
    const { refreshToken, sessionId } = await userWithToken(t);
    const firstTab = await refreshWithBody(t, refreshToken).expect(200);

    const secondTab = await refreshWithBody(t, refreshToken).expect(200);

    expect(secondTab.body.refreshToken).toBe(firstTab.body.refreshToken);
    await me(t, firstTab.body.accessToken).expect(200);
    await me(t, secondTab.body.accessToken).expect(200);
    const row = await t.context.models.AuthSession.findByPk(sessionId);
    expect(row!.revokedAt).toBeNull();
    expect(row!.generation).toBe(1);
    await refreshWithBody(t, secondTab.body.refreshToken).expect(200);
  });

  it('gives two concurrent refreshes with the same token the same new token', async () => {
    const { refreshToken, sessionId } = await userWithToken(t);

    const [a, b] = await Promise.all([refreshWithBody(t, refreshToken), refreshWithBody(t, refreshToken)]);

    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(a.body.refreshToken).toBe(b.body.refreshToken);
    const row = await t.context.models.AuthSession.findByPk(sessionId);
    expect(row!.revokedAt).toBeNull();
    expect(row!.generation).toBe(1);
    expect(row!.refreshTokenHash).toBe(sha256(a.body.refreshToken));
  });

  it('treats a token two generations old as reuse even inside the grace window', async () => {
    const { refreshToken, sessionId, accessToken } = await userWithToken(t);
    const first = await refreshWithBody(t, refreshToken).expect(200);
    await refreshWithBody(t, first.body.refreshToken).expect(200);

    const res = await refreshWithBody(t, refreshToken).expect(401);

    expect(res.body.code).toBe('REFRESH_TOKEN_REUSED');
    const row = await t.context.models.AuthSession.findByPk(sessionId);
    expect(row!.revokedReason).toBe('token_reuse');
    await me(t, accessToken).expect(401);
  });

  it.each([
    ['a token of no known shape', 'not-a-refresh-token'],
    ['a token naming no session', `00000000-0000-4000-8000-000000000000.0.${'A'.repeat(43)}`],
  ])('refuses %s with 401 INVALID_REFRESH_TOKEN', async (_label, token) => {
    const res = await refreshWithBody(t, token).expect(401);

    expect(res.body.code).toBe('INVALID_REFRESH_TOKEN');
  });

  it('refuses a refresh token of a session that was logged out', async () => {
    const { refreshToken, auth, sessionId } = await userWithToken(t);
    await request(t.app).post('/api/auth/logout').set('Authorization', auth).expect(204);

    const res = await refreshWithBody(t, refreshToken).expect(401);

    expect(res.body.code).toBe('INVALID_REFRESH_TOKEN');
    expect((await t.context.models.AuthSession.findByPk(sessionId))!.revokedReason).toBe('logout');
  });

  it('refuses a refresh token of a disabled user and ends the session', async () => {
    const { user, refreshToken, sessionId, accessToken } = await userWithToken(t);
    await t.context.models.User.update({ disabledAt: new Date() }, { where: { id: user.id } });

    const res = await refreshWithBody(t, refreshToken).expect(401);

    expect(res.body.code).toBe('INVALID_REFRESH_TOKEN');
    expect((await t.context.models.AuthSession.findByPk(sessionId))!.revokedReason).toBe('user_disabled');
    await me(t, accessToken).expect(401);
  });

  // The session id is not secret (it is the `sid` claim of every access token): a token that only
  // names it must be refused without ending the session or logging a false token_reuse_detected.
  it('does not end a session for a forged refresh token that only names its id (sid from the access token)', async () => {
    const { accessToken, sessionId, refreshToken } = await userWithToken(t);
    const sid = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()).sid as string;
    const rotated = await refreshWithBody(t, refreshToken).expect(200); // generation 1: generation 0 is now retired

    for (const generation of [0, 1, 7]) {
      const res = await refreshWithBody(t, `${sid}.${generation}.${'A'.repeat(43)}`).expect(401);
      expect(res.body.code).toBe('INVALID_REFRESH_TOKEN');
    }

    const row = await t.context.models.AuthSession.findByPk(sessionId);
    expect(row!.revokedAt).toBeNull();
    expect(row!.generation).toBe(1);
    await me(t, rotated.body.accessToken).expect(200);
    await t.context.events.flush();
    expect(await t.context.models.SecurityEvent.count({ where: { type: 'token_reuse_detected', userId: row!.userId } })).toBe(0);
    await refreshWithBody(t, rotated.body.refreshToken).expect(200);
  });

  it('answers no token at all with 401 REFRESH_TOKEN_REQUIRED', async () => {
    const res = await request(t.app).post('/api/auth/refresh').send({}).expect(401);

    expect(res.body.code).toBe('REFRESH_TOKEN_REQUIRED');
  });

  it('records token_refresh without the token in the metadata', async () => {
    const { user, refreshToken, sessionId } = await userWithToken(t);
    const res = await refreshWithBody(t, refreshToken).expect(200);
    await t.context.events.flush();

    const event = await t.context.models.SecurityEvent.findOne({ where: { type: 'token_refresh', userId: user.id } });
    expect(event!.metadata).toEqual({ sessionId });
    const stored = JSON.stringify(event!.get({ plain: true }));
    expect(stored).not.toContain(refreshToken.split('.').at(-1));
    expect(stored).not.toContain(res.body.refreshToken.split('.').at(-1));
  });
});

describe('POST /api/auth/refresh after the grace window (REFRESH_REUSE_GRACE_S=0)', () => {
  let g: TestApp;
  beforeAll(async () => {
    g = await createTestApp({ lenientLimits: true, env: { REFRESH_REUSE_GRACE_S: '0' } });
  });
  afterAll(() => g.close());

  it('answers the replaced token with 401 REFRESH_TOKEN_REUSED and ends the whole session at once', async () => {
    const { user, refreshToken, sessionId, accessToken } = await userWithToken(g);
    const rotated = await refreshWithBody(g, refreshToken).expect(200);
    await me(g, rotated.body.accessToken).expect(200);
    await sleep(1_100);

    const res = await refreshWithBody(g, refreshToken).expect(401);

    expect(res.body.code).toBe('REFRESH_TOKEN_REUSED');
    const row = await g.context.models.AuthSession.findByPk(sessionId);
    expect(row!.revokedAt).not.toBeNull();
    expect(row!.revokedReason).toBe('token_reuse');
    expect((await me(g, accessToken).expect(401)).body.code).toBe('INVALID_TOKEN');
    expect((await me(g, rotated.body.accessToken).expect(401)).body.code).toBe('INVALID_TOKEN');
    expect((await refreshWithBody(g, rotated.body.refreshToken).expect(401)).body.code).toBe('INVALID_REFRESH_TOKEN');
    await g.context.events.flush();
    const event = await g.context.models.SecurityEvent.findOne({ where: { type: 'token_reuse_detected', userId: user.id } });
    expect(event).not.toBeNull();
    expect(event!.metadata).toEqual({ sessionId });
    expect(event!.ip).toMatch(/127\.0\.0\.1/);
  });

  it('leaves the other sessions of the same user alone', async () => {
    const user = await createUser(g);
    const login = () => request(g.app).post('/api/auth/login').send({ email: user.email, password: user.password, transport: 'body' }).expect(200);
    const stolen = (await login()).body;
    const other = (await login()).body;
    await refreshWithBody(g, stolen.refreshToken).expect(200);
    await sleep(1_100);

    await refreshWithBody(g, stolen.refreshToken).expect(401);

    await me(g, other.accessToken).expect(200);
    expect((await g.context.models.AuthSession.findByPk(other.session.id))!.revokedAt).toBeNull();
  });
});

describe('POST /api/auth/refresh (cookie transport, CSRF-protected)', () => {
  it('rotates with the refresh cookie, the matching X-CSRF-Token and an allowlisted Origin', async () => {
    const browser = await cookieLogin(t);

    const res = await request(t.app)
      .post('/api/auth/refresh')
      .set('Origin', SPA_ORIGIN)
      .set('Cookie', cookieHeader({ confidant_refresh: browser.refreshCookie, confidant_csrf: browser.csrfCookie }))
      .set('X-CSRF-Token', browser.csrfToken)
      .expect(200);

    expect(res.body).not.toHaveProperty('refreshToken');
    expect(res.body.csrfToken).toEqual(expect.any(String));
    const rotatedCookie = cookieValue(res.headers['set-cookie'], 'confidant_refresh')!;
    expect(rotatedCookie).not.toBe(browser.refreshCookie);
    expect((await t.context.models.AuthSession.findByPk(browser.sessionId))!.refreshTokenHash).toBe(sha256(rotatedCookie));
    await me(t, res.body.accessToken).expect(200);
  });

  describe('refusals with 403, leaving the session unrotated', () => {
    async function attempt(headers: (browser: Awaited<ReturnType<typeof cookieLogin>>, other: Awaited<ReturnType<typeof cookieLogin>>) => Record<string, string>) {
      const browser = await cookieLogin(t);
      const other = await cookieLogin(t);
      let req = request(t.app).post('/api/auth/refresh');
      for (const [name, value] of Object.entries(headers(browser, other))) req = req.set(name, value);
      const res = await req;
      const row = await t.context.models.AuthSession.findByPk(browser.sessionId);
      return { res, rotated: row!.refreshTokenHash !== sha256(browser.refreshCookie) };
    }

    it('without the X-CSRF-Token header', async () => {
      const { res, rotated } = await attempt((b) => ({ Origin: SPA_ORIGIN, Cookie: cookieHeader({ confidant_refresh: b.refreshCookie, confidant_csrf: b.csrfCookie }) }));

      expect(res.status).toBe(403);
      expect(res.body.code).toBe('CSRF_TOKEN_INVALID');
      expect(rotated).toBe(false);
    });

    it('with a header that does not match the CSRF cookie', async () => {
      const { res, rotated } = await attempt((b) => ({
        Origin: SPA_ORIGIN,
        Cookie: cookieHeader({ confidant_refresh: b.refreshCookie, confidant_csrf: b.csrfCookie }),
        'X-CSRF-Token': `${b.csrfToken.split('.')[0]}.forged`,
      }));

      expect(res.status).toBe(403);
      expect(res.body.code).toBe('CSRF_TOKEN_INVALID');
      expect(rotated).toBe(false);
    });

    it('with the CSRF token (header and cookie) of another session', async () => {
      const { res, rotated } = await attempt((b, o) => ({
        Origin: SPA_ORIGIN,
        Cookie: cookieHeader({ confidant_refresh: b.refreshCookie, confidant_csrf: o.csrfCookie }),
        'X-CSRF-Token': o.csrfToken,
      }));

      expect(res.status).toBe(403);
      expect(res.body.code).toBe('CSRF_TOKEN_INVALID');
      expect(rotated).toBe(false);
    });

    it('without an Origin header', async () => {
      const { res, rotated } = await attempt((b) => ({
        Cookie: cookieHeader({ confidant_refresh: b.refreshCookie, confidant_csrf: b.csrfCookie }),
        'X-CSRF-Token': b.csrfToken,
      }));

      expect(res.status).toBe(403);
      expect(res.body.code).toBe('CSRF_ORIGIN_REJECTED');
      expect(rotated).toBe(false);
    });

    it('from a foreign Origin', async () => {
      const { res, rotated } = await attempt((b) => ({
        Origin: 'https://evil.example',
        Cookie: cookieHeader({ confidant_refresh: b.refreshCookie, confidant_csrf: b.csrfCookie }),
        'X-CSRF-Token': b.csrfToken,
      }));

      expect(res.status).toBe(403);
      expect(res.body.code).toBe('CSRF_ORIGIN_REJECTED');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(rotated).toBe(false);
    });
  });

  it('clears the cookies when the refresh cookie is no longer valid', async () => {
    const browser = await cookieLogin(t);
    await t.modules.auth.endSessions({ id: browser.sessionId }, 'logout');

    const res = await request(t.app)
      .post('/api/auth/refresh')
      .set('Origin', SPA_ORIGIN)
      .set('Cookie', cookieHeader({ confidant_refresh: browser.refreshCookie, confidant_csrf: browser.csrfCookie }))
      .set('X-CSRF-Token', browser.csrfToken)
      .expect(401);

    expect(res.body.code).toBe('INVALID_REFRESH_TOKEN');
    expect(cookieValue(res.headers['set-cookie'], 'confidant_refresh')).toBe('');
  });
});

describe('GET /api/auth/csrf', () => {
  it('issues a CSRF token for the session of the refresh cookie that then passes the check', async () => {
    const browser = await cookieLogin(t);

    const issued = await request(t.app)
      .get('/api/auth/csrf')
      .set('Cookie', cookieHeader({ confidant_refresh: browser.refreshCookie }))
      .expect(200);

    expect(issued.body.csrfToken).toEqual(expect.any(String));
    expect(cookieValue(issued.headers['set-cookie'], 'confidant_csrf')).toBe(issued.body.csrfToken);
    await request(t.app)
      .post('/api/auth/refresh')
      .set('Origin', SPA_ORIGIN)
      .set('Cookie', cookieHeader({ confidant_refresh: browser.refreshCookie, confidant_csrf: issued.body.csrfToken }))
      .set('X-CSRF-Token', issued.body.csrfToken)
      .expect(200);
    expect((await t.context.models.AuthSession.findByPk(browser.sessionId))!.generation).toBe(1);
  });

  it('answers 401 REFRESH_TOKEN_REQUIRED without the refresh cookie', async () => {
    const res = await request(t.app).get('/api/auth/csrf').expect(401);

    expect(res.body.code).toBe('REFRESH_TOKEN_REQUIRED');
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});

describe('POST /api/auth/logout with the refresh cookie', () => {
  it('ends the session when the CSRF check passes', async () => {
    const browser = await cookieLogin(t);

    await request(t.app)
      .post('/api/auth/logout')
      .set('Origin', SPA_ORIGIN)
      .set('Cookie', cookieHeader({ confidant_refresh: browser.refreshCookie, confidant_csrf: browser.csrfCookie }))
      .set('X-CSRF-Token', browser.csrfToken)
      .expect(204);

    expect((await t.context.models.AuthSession.findByPk(browser.sessionId))!.revokedReason).toBe('logout');
  });

  it('refuses with 403 and keeps the session when the CSRF header is missing', async () => {
    const browser = await cookieLogin(t);

    const res = await request(t.app)
      .post('/api/auth/logout')
      .set('Origin', SPA_ORIGIN)
      .set('Cookie', cookieHeader({ confidant_refresh: browser.refreshCookie, confidant_csrf: browser.csrfCookie }))
      .expect(403);

    expect(res.body.code).toBe('CSRF_TOKEN_INVALID');
    expect((await t.context.models.AuthSession.findByPk(browser.sessionId))!.revokedAt).toBeNull();
  });
});

describe('cookie names in production (__Secure- prefix)', () => {
  const PROD_ORIGIN = 'https://app.example.com';
  const REFRESH = '__Secure-confidant_refresh';
  const CSRF = '__Secure-confidant_csrf';
  let prod: ReturnType<typeof createApp>['app'];

  beforeAll(() => {
    const config = loadConfig({
      NODE_ENV: 'production',
      STORAGE_LOCAL_ALLOWED: 'true',
      DATABASE_URL: t.config.database.url ?? 'postgres://unused@127.0.0.1:1/unused', // the app below uses the test database
      CORS_ORIGINS: PROD_ORIGIN,
      PUBLIC_URL: 'https://api.example.com',
      AUTH_SECRET: t.config.secrets.authSecret, // same keys as the test app: one deployment, before and after the upgrade
      DATA_ENCRYPTION_KEY: t.config.secrets.dataEncryptionKey,
      LOG_LEVEL: 'silent',
      ...LENIENT_LIMITS,
    });
    prod = createApp({ config, sequelize: t.sequelize }).app;
  });

  async function prodLogin() {
    const user = await createUser(t);
    const res = await request(prod).post('/api/auth/login').send({ email: user.email, password: user.password }).expect(200);
    return {
      res,
      sessionId: res.body.session.id as string,
      refreshCookie: cookieValue(res.headers['set-cookie'], REFRESH)!,
      csrfCookie: cookieValue(res.headers['set-cookie'], CSRF)!,
      csrfToken: res.body.csrfToken as string,
    };
  }

  function prodRefresh(cookies: Record<string, string>, csrfToken: string) {
    return request(prod).post('/api/auth/refresh').set('Origin', PROD_ORIGIN).set('Cookie', cookieHeader(cookies)).set('X-CSRF-Token', csrfToken);
  }

  it('names both cookies __Secure-…, Secure, and sets no unprefixed cookie with a value', async () => {
    const { res, refreshCookie, csrfCookie, csrfToken } = await prodLogin();

    const setCookie = res.headers['set-cookie'] as unknown as string[];
    const named = (name: string) => setCookie.find((line) => line.startsWith(`${name}=`))!;
    expect(refreshCookie).toMatch(/^[0-9a-f-]{36}\.0\./);
    expect(csrfCookie).toBe(csrfToken);
    for (const name of [REFRESH, CSRF]) expect(named(name).toLowerCase()).toMatch(/; secure/);
    expect(cookieValue(setCookie, 'confidant_refresh') ?? '').toBe('');
    expect(cookieValue(setCookie, 'confidant_csrf') ?? '').toBe('');
  });

  it('refreshes with the prefixed cookies and the matching CSRF token', async () => {
    const browser = await prodLogin();

    const res = await prodRefresh({ [REFRESH]: browser.refreshCookie, [CSRF]: browser.csrfCookie }, browser.csrfToken).expect(200);

    expect(cookieValue(res.headers['set-cookie'], REFRESH)).toMatch(new RegExp(`^${browser.sessionId}\\.1\\.`));
    expect((await t.context.models.AuthSession.findByPk(browser.sessionId))!.generation).toBe(1);
  });

  it('still accepts the unprefixed cookies of a browser signed in before the upgrade, and renames them', async () => {
    const before = await cookieLogin(t); // the unprefixed names, as the previous release set them

    const res = await prodRefresh({ confidant_refresh: before.refreshCookie, confidant_csrf: before.csrfCookie }, before.csrfToken).expect(200);

    expect(cookieValue(res.headers['set-cookie'], REFRESH)).toMatch(new RegExp(`^${before.sessionId}\\.1\\.`));
    expect(cookieValue(res.headers['set-cookie'], CSRF)).toBe(res.body.csrfToken);
    expect(cookieValue(res.headers['set-cookie'], 'confidant_refresh')).toBe(''); // cleared
    expect(cookieValue(res.headers['set-cookie'], 'confidant_csrf')).toBe('');
  });

  it('lets no unprefixed cookie shadow the prefixed ones (cookie tossing into the attacker’s session)', async () => {
    const victim = await prodLogin();
    const attacker = await cookieLogin(t); // cookies a sibling host or a plain-HTTP page could set without the prefix
    const jar = {
      confidant_refresh: attacker.refreshCookie,
      confidant_csrf: attacker.csrfCookie,
      [REFRESH]: victim.refreshCookie,
      [CSRF]: victim.csrfCookie,
    };

    const tossed = await prodRefresh(jar, attacker.csrfToken).expect(403);
    const own = await prodRefresh(jar, victim.csrfToken).expect(200);

    expect(tossed.body.code).toBe('CSRF_TOKEN_INVALID');
    expect(own.body.session.id).toBe(victim.sessionId);
    expect((await t.context.models.AuthSession.findByPk(attacker.sessionId))!.generation).toBe(0);
  });

  it('issues GET /api/auth/csrf into the cookie that goes with the presented refresh cookie', async () => {
    const browser = await prodLogin();
    const before = await cookieLogin(t);

    const prefixed = await request(prod).get('/api/auth/csrf').set('Cookie', cookieHeader({ [REFRESH]: browser.refreshCookie })).expect(200);
    const unprefixed = await request(prod).get('/api/auth/csrf').set('Cookie', cookieHeader({ confidant_refresh: before.refreshCookie })).expect(200);

    expect(cookieValue(prefixed.headers['set-cookie'], CSRF)).toBe(prefixed.body.csrfToken);
    expect(cookieValue(unprefixed.headers['set-cookie'], 'confidant_csrf')).toBe(unprefixed.body.csrfToken);
    await prodRefresh({ confidant_refresh: before.refreshCookie, confidant_csrf: unprefixed.body.csrfToken }, unprefixed.body.csrfToken).expect(200);
  });
});

describe('the absolute session lifetime (SESSION_ABSOLUTE_TTL_DAYS, REMEMBER_ME_ABSOLUTE_TTL_DAYS)', () => {
  const DAY_MS = 86_400_000;

  /** Moves a session's start back in time, leaving its sliding expiry as it is. */
  async function startedDaysAgo(sessionId: string, days: number) {
    await t.context.models.AuthSession.update({ createdAt: new Date(Date.now() - days * DAY_MS) }, { where: { id: sessionId }, silent: true });
    return (await t.context.models.AuthSession.findByPk(sessionId))!;
  }

  async function bodyLogin(rememberMe: boolean) {
    const user = await createUser(t);
    const res = await request(t.app).post('/api/auth/login').send({ email: user.email, password: user.password, transport: 'body', rememberMe }).expect(200);
    return { sessionId: res.body.session.id as string, refreshToken: res.body.refreshToken as string };
  }

  it('refuses to refresh a session started more than 30 days ago, although its sliding expiry is days away', async () => {
    const { sessionId, refreshToken } = await bodyLogin(false);
    const row = await startedDaysAgo(sessionId, 30.01);
    expect(row.expiresAt.getTime() - Date.now()).toBeGreaterThan(6 * DAY_MS);

    const res = await refreshWithBody(t, refreshToken).expect(401);

    expect(res.body.code).toBe('INVALID_REFRESH_TOKEN');
    expect((await t.context.models.AuthSession.findByPk(sessionId))!.generation).toBe(0);
  });

  it('keeps a remember-me session refreshing after 30 days and refuses it after 90', async () => {
    const { sessionId, refreshToken } = await bodyLogin(true);
    await startedDaysAgo(sessionId, 31);

    const later = await refreshWithBody(t, refreshToken).expect(200);
    await startedDaysAgo(sessionId, 90.01);
    const tooLate = await refreshWithBody(t, later.body.refreshToken).expect(401);

    expect(tooLate.body.code).toBe('INVALID_REFRESH_TOKEN');
  });

  it('never slides a session past its absolute end: the expiry stops at start + 30 days', async () => {
    const { sessionId, refreshToken } = await bodyLogin(false);
    const row = await startedDaysAgo(sessionId, 29.5);
    await row.update({ expiresAt: new Date(Date.now() + 60_000) }); // about to lapse, so a refresh slides it

    const res = await refreshWithBody(t, refreshToken).expect(200);

    const absoluteEnd = row.createdAt.getTime() + 30 * DAY_MS;
    const after = await t.context.models.AuthSession.findByPk(sessionId);
    expect(after!.expiresAt.getTime()).toBe(absoluteEnd);
    expect(new Date(res.body.session.expiresAt).getTime()).toBe(absoluteEnd);
  });
});
