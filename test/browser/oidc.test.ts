import { existsSync } from 'node:fs';
import { type Server } from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { CHROMIUM, CHROMIUM_ARGS, closeServer, listen, logLines, portOf, spaServer, STEP_TIMEOUT_MS } from '../helpers/browser.js';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';

/**
 * Signing in with an OpenID provider end to end in a real Chromium: the reference SPA's button
 * navigates to the API, the API to a real oidc-provider on the loopback (which signs the chosen
 * person in at once), the provider back to the API's callback and the API to the SPA with a
 * one-time code in the fragment, which the page exchanges for a cookie-transport session.
 */
describe.skipIf(!existsSync(CHROMIUM))('sign-in with an OpenID provider through the reference SPA (Chromium)', { timeout: 60_000 }, () => {
  let t: TestApp | undefined;
  let api: Server | undefined;
  let spa: Server | undefined;
  let idp: TestOidcProvider | undefined;
  let browser: Browser | undefined;
  let apiOrigin = '';
  let spaOrigin = '';
  /** Pages the tab showed (with their fragments), and every navigation request, redirects included. */
  const navigations: string[] = [];
  const requested: string[] = [];

  beforeAll(async () => {
    spa = await spaServer(() => apiOrigin);
    spaOrigin = `http://127.0.0.1:${portOf(spa)}`;
    api = await listen((req, res) => (t ? t.app(req, res) : res.writeHead(503).end()));
    apiOrigin = `http://127.0.0.1:${portOf(api)}`;
    idp = await startOidcProvider({ redirectUris: [`${apiOrigin}/api/auth/oidc/staff/callback`] });
    t = await createTestApp({
      env: {
        CORS_ORIGINS: spaOrigin,
        APP_URL: spaOrigin,
        PUBLIC_URL: apiOrigin,
        OIDC_PROVIDERS: JSON.stringify([{ id: 'staff', name: 'Practice login', issuer: idp.issuer, clientId: idp.clientId, signup: true }]),
        OIDC_STAFF_CLIENT_SECRET: idp.clientSecret,
      },
    });
    await t.modules.passwordless.discovery();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([closeServer(api), closeServer(spa)]);
    await idp?.close();
    await t?.close();
  }, 30_000);

  it('signs up and in, leaves no code in the address bar, and keeps the refresh token in the HttpOnly cookie', async () => {
    idp!.signInAs('staff-member-1', { email: 'sam.staff@example.com', email_verified: true, name: 'Sam Staff' });
    const context = await browser!.newContext();
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    const page = await context.newPage();
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations.push(frame.url());
    });
    page.on('request', (request) => {
      if (request.isNavigationRequest()) requested.push(request.url());
    });
    try {
      await page.goto(`${spaOrigin}/?${new URLSearchParams({ api: apiOrigin, autorun: 'oidcLogin', then: 'me' })}`);

      const lines = await logLines(page, /autorun (done|stopped)/);

      expect(lines).toEqual(['oidc login ok', 'me ok sam.staff@example.com', 'autorun done']);
      expect(page.url()).not.toContain('#');
      // The browser went to the provider and back through the API; the SPA got a code, never a token.
      expect(requested.some((url) => url.startsWith(`${idp!.issuer}/auth`))).toBe(true);
      expect(requested.some((url) => url.startsWith(`${apiOrigin}/api/auth/oidc/staff/callback?code=`))).toBe(true);
      const landed = navigations.filter((url) => url.startsWith(spaOrigin) && url.includes('#'));
      expect(landed).toHaveLength(1);
      expect(landed[0]).toMatch(/#code=[A-Za-z0-9_-]{43}$/);
      const cookies = await context.cookies();
      expect(cookies.find((cookie) => cookie.name === 'confidant_refresh')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/auth' });
      expect(cookies.find((cookie) => cookie.name === 'confidant_oidc')).toBeUndefined(); // cleared at the callback
      const account = await t!.context.models.User.findOne({ where: { email: 'sam.staff@example.com' } });
      expect(account!.passwordHash).toBe('!');
    } finally {
      await context.close();
    }
  });
});
