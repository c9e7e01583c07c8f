import { existsSync } from 'node:fs';
import { type Server } from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { CHROMIUM, CHROMIUM_ARGS, closeServer, listen, logLines, portOf, spaServer, STEP_TIMEOUT_MS } from '../helpers/browser.js';
import { factories } from '../helpers/factories.js';
import { createUser, type TestUser } from '../helpers/users.js';

/**
 * A live session between two browser windows of the reference SPA (examples/spa): the client
 * starts a session and follows it, their counselor follows it from another window and says a
 * line over the socket, and the client's window shows it. Skipped without /usr/bin/chromium.
 */
describe.skipIf(!existsSync(CHROMIUM))('a live session between two windows of the reference SPA (Chromium)', { timeout: 60_000 }, () => {
  let t: TestApp;
  let api: Server | undefined;
  let spa: Server | undefined;
  let browser: Browser | undefined;
  let client: TestUser;
  let counselor: TestUser;
  let apiOrigin = '';

  beforeAll(async () => {
    spa = await spaServer(() => apiOrigin);
    t = await createTestApp({ lenientLimits: true, env: { CORS_ORIGINS: `http://127.0.0.1:${portOf(spa)}` } });
    api = await listen((req, res) => t.app(req, res));
    api.on('upgrade', t.modules.live.upgrade);
    apiOrigin = `http://127.0.0.1:${portOf(api)}`;
    const make = factories(t);
    client = await createUser(t);
    counselor = await createUser(t, { role: 'counselor' });
    const organization = await make.organization();
    await make.member(organization.id, client.id, 'client');
    await make.member(organization.id, counselor.id, 'counselor');
    await make.care(organization.id, counselor.id, client.id);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([closeServer(api), closeServer(spa)]);
    await t?.close();
  }, 30_000);

  async function openWindow(user: TestUser, query: Record<string, string>) {
    const context = await browser!.newContext();
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    const page = await context.newPage();
    const errors: Error[] = [];
    page.on('pageerror', (error) => errors.push(error));
    await page.goto(`http://127.0.0.1:${portOf(spa!)}/?${new URLSearchParams({ api: apiOrigin, email: user.email, password: user.password, ...query })}`);
    return { page, errors };
  }

  it('shows the counselor’s line in the client’s window as it is said, and stores it', async () => {
    const clientWindow = await openWindow(client, { autorun: 'login,startSession,follow', counselor: counselor.id });
    expect(await logLines(clientWindow.page, /autorun (done|stopped)/)).toContain('autorun done');
    const sessionId = await clientWindow.page.locator('#session').inputValue();

    const counselorWindow = await openWindow(counselor, { autorun: 'login,follow,say', session: sessionId, line: 'Hello from the counselor' });
    const counselorLines = await logLines(counselorWindow.page, /autorun (done|stopped)/);

    expect(counselorLines).toContain('live sent Hello from the counselor');
    const clientLines = await logLines(clientWindow.page, /live entry transcript Hello from the counselor/);
    expect(clientLines).toContain(`session started ${sessionId}`);
    expect(clientLines.some((line) => line.startsWith('live following as client'))).toBe(true);
    // Presence lists the participants by account id: either order.
    expect(clientLines.some((line) => /^live presence (client, counselor|counselor, client)$/.test(line))).toBe(true);
    expect(await t.context.models.SessionEntry.count({ where: { sessionId, authorId: counselor.id, kind: 'transcript' } })).toBe(1);
    expect([...clientWindow.errors, ...counselorWindow.errors]).toEqual([]);
  });
});
