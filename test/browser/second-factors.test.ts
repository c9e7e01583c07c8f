import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { CHROMIUM, CHROMIUM_ARGS, closeServer, listen, logLines, logOf, portOf, spaServer, STEP_TIMEOUT_MS } from '../helpers/browser.js';
import { nextTotpCode, totpCode } from '../helpers/mfa.js';
import { createUser, type TestUser } from '../helpers/users.js';

/**
 * Second factors from the reference SPA in a real Chromium: a passkey registered and used
 * to sign in through the DevTools virtual WebAuthn authenticator (a platform authenticator
 * with resident keys and user verification), and an authenticator app set up from the
 * page's QR screen and used at the next sign-in. The page and the API are on `localhost`
 * (different ports: same site), which is also the relying party (APP_URL's host).
 */
describe.skipIf(!existsSync(CHROMIUM))('second factors from the reference SPA in a real browser (Chromium)', { timeout: 90_000 }, () => {
  let t: TestApp;
  let api: Server | undefined;
  let spa: Server | undefined;
  let browser: Browser | undefined;
  let apiOrigin = '';
  let spaOrigin = '';

  beforeAll(async () => {
    spa = await spaServer(() => apiOrigin);
    spaOrigin = `http://localhost:${portOf(spa)}`;
    t = await createTestApp({ lenientLimits: true, env: { CORS_ORIGINS: spaOrigin } });
    api = await listen((req, res) => t.app(req, res));
    apiOrigin = `http://localhost:${portOf(api)}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([closeServer(api), closeServer(spa)]);
    await t?.close();
  }, 30_000);

  /** A fresh context on the SPA with the page's errors and CSP complaints collected; `before` runs ahead of the page load. */
  async function openPage(user: TestUser, autorun: string, before?: (context: BrowserContext, page: Page) => Promise<void>) {
    const context = await browser!.newContext();
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) problems.push(message.text());
    });
    await before?.(context, page);
    const query = new URLSearchParams({ api: apiOrigin, email: user.email, password: user.password, ...(autorun && { autorun }) });
    await page.goto(`${spaOrigin}/?${query}`);
    return { context, page, problems };
  }

  it('registers a passkey with the virtual authenticator, then signs in with it, username-less', async () => {
    const user = await createUser(t);
    let cdp: Awaited<ReturnType<BrowserContext['newCDPSession']>> | undefined;
    let authenticatorId = '';
    const { context, page, problems } = await openPage(user, 'login,passkeyRegister,logout,passkeyLogin,me,refresh,passkeys', async (ctx, pg) => {
      cdp = await ctx.newCDPSession(pg);
      await cdp.send('WebAuthn.enable');
      ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
      }));
    });
    try {
      const lines = await logLines(page, /autorun (done|stopped)/);
      expect(lines).toEqual([
        'login ok',
        'passkey added This browser',
        'logout ok',
        'passkey login ok',
        `me ok ${user.email}`,
        'refresh ok (new access token)',
        'passkeys: This browser',
        'autorun done',
      ]);

      // The authenticator holds one discoverable credential for `localhost`; the API holds its public key.
      const { credentials } = await cdp!.send('WebAuthn.getCredentials', { authenticatorId });
      expect(credentials).toHaveLength(1);
      const credential = credentials[0]!;
      expect(credential).toMatchObject({ isResidentCredential: true, rpId: 'localhost' });
      expect(Buffer.from(credential.userHandle!, 'base64').toString('hex')).toBe(user.id.replace(/-/g, ''));
      const rows = await t.context.models.Passkey.findAll({ where: { userId: user.id } });
      expect(rows.map((row) => row.credentialId)).toEqual([Buffer.from(credential.credentialId, 'base64').toString('base64url')]);
      expect(Number(rows[0]!.counter)).toBe(credential.signCount);
      expect(rows[0]!.lastUsedAt).not.toBeNull();

      // The passkey sign-in opened a session of its own, with the cookie transport.
      await t.context.events.flush();
      const signIns = await t.context.models.SecurityEvent.findAll({ where: { userId: user.id, type: 'login_success' }, order: [['createdAt', 'ASC']] });
      expect(signIns.map((event) => event.metadata.method ?? 'password')).toEqual(['password', 'passkey']);
      expect((await context.cookies()).map((cookie) => cookie.name).sort()).toEqual(['confidant_csrf', 'confidant_refresh']);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('sets up an authenticator app from the QR screen, then signs in with password and code', async () => {
    const user = await createUser(t);
    const { context, page, problems } = await openPage(user, 'login,totpSetup');
    try {
      expect(await logLines(page, /autorun (done|stopped)/)).toEqual(['login ok', 'totp setup ok', 'autorun done']);
      // The QR code is an SVG data URL the page's CSP admits as an image.
      await expect.poll(() => page.locator('#qr').evaluate((img) => (img as unknown as { complete: boolean; naturalWidth: number }).complete && (img as unknown as { naturalWidth: number }).naturalWidth > 0), { timeout: STEP_TIMEOUT_MS }).toBe(true);
      const secret = (await page.locator('#totp-secret').textContent())!;

      await page.fill('#totp-code', await totpCode(secret));
      await page.click('#totpConfirm');
      expect((await logLines(page, /totp confirmed|totpConfirm failed/)).at(-1)).toBe('totp confirmed, 10 recovery codes');
      expect((await page.locator('#recovery-codes').textContent())!.split('\n')).toHaveLength(10);

      await page.click('#logout');
      await logLines(page, /logout ok/);
      await page.click('#login');
      expect((await logLines(page, /login needs a second factor/)).at(-1)).toBe('login needs a second factor (totp, recovery_code)');
      await page.fill('#code', await nextTotpCode(secret));
      await page.click('#verify');
      expect((await logLines(page, /verify (ok|failed)/)).at(-1)).toBe('verify ok');
      await page.click('#me');
      await expect.poll(() => logOf(page), { timeout: STEP_TIMEOUT_MS }).toMatch(new RegExp(`me ok ${user.email.replace(/[.]/g, '\\.')}\\n$`));
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
