import { existsSync } from 'node:fs';
import { type Server } from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { CHROMIUM, CHROMIUM_ARGS, closeServer, listen, logLines, logOf, portOf, spaServer, STEP_TIMEOUT_MS } from '../helpers/browser.js';
import { createUser, type TestUser } from '../helpers/users.js';

/**
 * The reference SPA of examples/spa in a real Chromium (Debian's package, driven by
 * playwright-core): the cookie transport end to end from an allowlisted, same-site
 * origin, and the browser's CORS block for the same page on origins that are not
 * allowlisted. Skipped where /usr/bin/chromium is missing (a laptop without it).
 */

/** What the API saw: one entry per request, with the CORS answer it gave. */
interface Seen {
  method: string;
  path: string;
  origin?: string;
  cookie?: string;
  csrfHeader?: string;
  status?: number;
  allowOrigin?: string;
}

function header(value: string | string[] | number | undefined): string | undefined {
  return value === undefined ? undefined : String(value);
}

function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  const pair = cookieHeader?.split(/;\s*/).find((part) => part.startsWith(`${name}=`));
  return pair === undefined ? undefined : decodeURIComponent(pair.slice(name.length + 1));
}

describe.skipIf(!existsSync(CHROMIUM))('the reference SPA in a real browser (Chromium)', { timeout: 60_000 }, () => {
  let t: TestApp;
  let api: Server | undefined;
  let spa: Server | undefined;
  let outsider: Server | undefined;
  let browser: Browser | undefined;
  let user: TestUser;
  let apiOrigin = '';
  let spaOrigin = '';
  const seen: Seen[] = [];

  beforeAll(async () => {
    // The SPA servers first: the allowlisted origin must be known before the app is configured.
    spa = await spaServer(() => apiOrigin);
    outsider = await spaServer(() => apiOrigin);
    spaOrigin = `http://127.0.0.1:${portOf(spa)}`;
    t = await createTestApp({ env: { CORS_ORIGINS: spaOrigin } });
    api = await listen((req, res) => {
      const entry: Seen = {
        method: req.method ?? '',
        path: req.url ?? '',
        origin: req.headers.origin,
        cookie: req.headers.cookie,
        csrfHeader: header(req.headers['x-csrf-token']),
      };
      seen.push(entry);
      res.on('finish', () => {
        entry.status = res.statusCode;
        entry.allowOrigin = header(res.getHeader('access-control-allow-origin'));
      });
      t.app(req, res);
    });
    apiOrigin = `http://127.0.0.1:${portOf(api)}`;
    user = await createUser(t);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([closeServer(api), closeServer(spa), closeServer(outsider)]);
    await t?.close();
  }, 30_000);

  /** A fresh browser context (no cookies) on the SPA, with what the page logs, throws and receives. */
  async function openPage(origin: string, autorun: string) {
    const context = await browser!.newContext();
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    const page = await context.newPage();
    const consoleLines: string[] = [];
    const errors: Error[] = [];
    const tokenBodies: Promise<Record<string, unknown> | undefined>[] = [];
    page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => errors.push(error));
    page.on('response', (response) => {
      if (/\/api\/auth\/(login|refresh)$/.test(response.url()) && response.ok()) {
        tokenBodies.push(response.json().catch(() => undefined) as Promise<Record<string, unknown> | undefined>);
      }
    });
    const query = new URLSearchParams({ api: apiOrigin, autorun, email: user.email, password: user.password });
    await page.goto(`${origin}/?${query}`);
    return { context, page, consoleLines, errors, tokenBodies };
  }

  it('logs in with the cookie transport, calls /me, refreshes with cookie + CSRF, and logs out', async () => {
    const { context, page, consoleLines, errors, tokenBodies } = await openPage(spaOrigin, 'login,me,refresh,me');
    try {
      const lines = await logLines(page, /autorun (done|stopped)/);
      expect(lines).toEqual(['login ok', `me ok ${user.email}`, 'refresh ok (new access token)', `me ok ${user.email}`, 'autorun done']);

      // The page's own origin was allowlisted with credentials; the login created a session row.
      const loginSeen = seen.find((s) => s.method === 'POST' && s.path === '/api/auth/login' && s.origin === spaOrigin);
      expect(loginSeen).toMatchObject({ status: 200, allowOrigin: spaOrigin });
      const sessions = await t.context.models.AuthSession.findAll({ where: { userId: user.id } });
      expect(sessions).toHaveLength(1);
      const sessionId = sessions[0]!.id;
      expect(sessions[0]!.generation).toBe(1); // rotated once by the refresh

      // The refresh went with the cookie, and X-CSRF-Token equal to the CSRF cookie (double submit), from the SPA's Origin.
      const refreshSeen = seen.find((s) => s.method === 'POST' && s.path === '/api/auth/refresh');
      expect(refreshSeen).toMatchObject({ status: 200, origin: spaOrigin, allowOrigin: spaOrigin });
      expect(cookieValue(refreshSeen!.cookie, 'confidant_refresh')).toMatch(new RegExp(`^${sessionId}\\.`));
      expect(refreshSeen!.csrfHeader).toBeTruthy();
      expect(refreshSeen!.csrfHeader).toBe(cookieValue(refreshSeen!.cookie, 'confidant_csrf'));
      // /me is sent with the bearer only (credentials: 'omit').
      const meSeen = seen.filter((s) => s.method === 'GET' && s.path === '/api/auth/me');
      expect(meSeen).toHaveLength(2);
      for (const s of meSeen) expect(s).toMatchObject({ status: 200, cookie: undefined, allowOrigin: spaOrigin });

      // Login and refresh answered with an access token and a CSRF token, never a refresh token
      // (cookie transport), and the refresh brought a new access token.
      const [loginBody, refreshBody, ...more] = await Promise.all(tokenBodies);
      expect(more).toEqual([]);
      for (const body of [loginBody, refreshBody]) {
        expect(body).toMatchObject({ accessToken: expect.any(String), tokenType: 'Bearer', csrfToken: expect.any(String) });
        expect(body).not.toHaveProperty('refreshToken');
      }
      expect(refreshBody!.accessToken).not.toBe(loginBody!.accessToken);

      // The cookies as the browser stored them: HttpOnly, SameSite=Strict, scoped to /api/auth.
      const cookies = (await context.cookies()).filter((c) => c.name.startsWith('confidant_'));
      expect(cookies.map((c) => c.name).sort()).toEqual(['confidant_csrf', 'confidant_refresh']);
      for (const cookie of cookies) {
        expect(cookie).toMatchObject({ domain: '127.0.0.1', path: '/api/auth', httpOnly: true, sameSite: 'Strict', secure: false });
      }
      expect(await context.cookies(`${spaOrigin}/`)).toEqual([]); // not sent to, nor readable by, the page
      expect(await page.evaluate('[document.cookie, localStorage.length, sessionStorage.length]')).toEqual(['', 0, 0]); // tokens in memory only
      const stolen = cookies.map((c) => ({ ...c }));

      // Log out (bearer), then a refresh fails: the cookies are gone and the session is revoked.
      await page.click('#logout');
      expect((await logLines(page, /logout (ok|failed)/)).at(-1)).toBe('logout ok');
      expect((await context.cookies()).filter((c) => c.name.startsWith('confidant_'))).toEqual([]);
      expect((await t.context.models.AuthSession.findByPk(sessionId))!.revokedAt).not.toBeNull();

      await page.click('#refresh');
      expect((await logLines(page, /refresh failed/)).at(-1)).toBe('refresh failed: 401 REFRESH_TOKEN_REQUIRED');

      // Even with the old cookies put back, the revoked session does not refresh.
      await context.addCookies(stolen);
      await page.click('#refresh');
      await expect.poll(async () => (await logOf(page)).match(/refresh failed/g)?.length, { timeout: STEP_TIMEOUT_MS }).toBe(2);
      expect((await logOf(page)).trim().split('\n').at(-1)).toMatch(/^refresh failed: 401 /);
      const lastRefresh = seen.filter((s) => s.method === 'POST' && s.path === '/api/auth/refresh').at(-1)!;
      expect(lastRefresh).toMatchObject({ status: 401, origin: spaOrigin });
      expect(cookieValue(lastRefresh.cookie, 'confidant_refresh')).toMatch(new RegExp(`^${sessionId}\\.`));

      expect(errors).toEqual([]);
      expect(consoleLines.filter((line) => /Content Security Policy/i.test(line))).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it.each([
    ['127.0.0.1', (port: number) => `http://127.0.0.1:${port}`],
    ['localhost', (port: number) => `http://localhost:${port}`],
  ])('runs "Try it out" on the interactive docs page opened on %s, within the page\'s CSP', async (_name, originFor) => {
    const origin = originFor(portOf(api!));
    const context = await browser!.newContext();
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    const page = await context.newPage();
    const consoleLines: string[] = [];
    page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
    try {
      await page.goto(`${origin}/api/docs`);
      const operation = page.locator('#operations-Health-GET_health');
      await operation.locator('.opblock-summary').click();
      await operation.locator('.try-out__btn').click();
      await operation.locator('.execute').click();
      const status = operation.locator('.live-responses-table .response .response-col_status');
      await expect.poll(() => status.first().textContent(), { timeout: STEP_TIMEOUT_MS }).toBe('200');
      expect(seen.filter((s) => s.path === '/health' && s.status === 200).length).toBeGreaterThan(0);
      expect(consoleLines.filter((line) => /Content Security Policy|Failed to fetch/i.test(line))).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it.each([
    ['a same-site origin on another port', (port: number) => `http://127.0.0.1:${port}`],
    ['a cross-site origin (localhost)', (port: number) => `http://localhost:${port}`],
  ])('is blocked by the browser CORS check when served from %s that is not allowlisted', async (_name, originFor) => {
    const origin = originFor(portOf(outsider!));
    const sessionsBefore = await t.context.models.AuthSession.count({ where: { userId: user.id } });
    const { context, page, consoleLines, errors } = await openPage(origin, 'login,me');
    try {
      const lines = await logLines(page, /autorun (done|stopped)/);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^login failed: /);
      expect(lines[1]).toBe('autorun stopped at login');
      // Chromium says why on the console; the page only sees a rejected fetch.
      await expect.poll(() => consoleLines.some((line) => /blocked by CORS policy/.test(line)), { timeout: STEP_TIMEOUT_MS }).toBe(true);

      // The preflight got no Access-Control-Allow-Origin, so the POST was never sent and no session was made.
      const fromOutsider = seen.filter((s) => s.origin === origin);
      expect(fromOutsider.length).toBeGreaterThan(0);
      for (const s of fromOutsider) expect(s.allowOrigin).toBeUndefined();
      expect(fromOutsider.filter((s) => s.method === 'POST')).toEqual([]);
      expect(await t.context.models.AuthSession.count({ where: { userId: user.id } })).toBe(sessionsBefore);
      expect((await context.cookies()).filter((c) => c.name.startsWith('confidant_'))).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
