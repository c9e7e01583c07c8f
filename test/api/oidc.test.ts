import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { APP_PUBLIC_URL, callBack, codeFrom, exchange, startAndSignIn } from '../helpers/oidc-browser.js';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';

const APP_URL = 'https://app.example.test';
const START = '/api/auth/oidc/staff/start?transport=body';

let idp: TestOidcProvider;
let t: TestApp;

beforeAll(async () => {
  idp = await startOidcProvider({ redirectUris: [`${APP_PUBLIC_URL}/api/auth/oidc/staff/callback`] });
  t = await createTestApp({
    lenientLimits: true,
    env: {
      APP_URL,
      PUBLIC_URL: APP_PUBLIC_URL,
      OIDC_PROVIDERS: JSON.stringify([{ id: 'staff', name: 'Practice login', issuer: idp.issuer, clientId: idp.clientId, signup: true }]),
      OIDC_STAFF_CLIENT_SECRET: idp.clientSecret,
    },
  });
  await t.modules.passwordless.discovery();
});
afterAll(async () => {
  await t?.close();
  await idp?.close();
});

const subject = () => `sub-${randomUUID()}`;
const uniqueEmail = (label: string) => `${label}-${randomUUID().slice(0, 8)}@example.com`;

describe('GET /api/auth/oidc/:provider/start', () => {
  it('redirects to the provider with code, PKCE S256, state and nonce, and binds them to an HttpOnly SameSite=Lax cookie', async () => {
    const res = await request(t.app).get(START).expect(302);
    const url = new URL(res.headers.location as string);

    expect(url.origin).toBe(idp.issuer);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: idp.clientId,
      redirect_uri: `${APP_PUBLIC_URL}/api/auth/oidc/staff/callback`,
      code_challenge_method: 'S256',
      scope: 'openid email profile',
    });
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const cookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((value) => value.startsWith('confidant_oidc='));
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\/api\/auth\/oidc/);
    const flow = await t.context.models.OidcFlow.findOne({ where: { state: url.searchParams.get('state')! } });
    expect(flow!.codeVerifier).not.toBe(url.searchParams.get('code_challenge'));
  });

  it('answers 404 for a provider that is not configured', async () => {
    const res = await request(t.app).get('/api/auth/oidc/nobody/start').expect(404);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  });

  it('refuses a returnTo outside the allowed origins with 400, and starts no flow', async () => {
    const before = await t.context.models.OidcFlow.count();
    for (const returnTo of ['https://evil.example/steal', 'javascript:alert(1)', `${APP_URL}.evil.example/x`, '/relative']) {
      const res = await request(t.app).get(`${START}&returnTo=${encodeURIComponent(returnTo)}`).expect(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
    expect(await t.context.models.OidcFlow.count()).toBe(before);
  });

  it('accepts a returnTo on APP_URL and sends the code there', async () => {
    const email = uniqueEmail('return');
    idp.signInAs(subject(), { email, email_verified: true });
    const { callback, cookie } = await startAndSignIn(t, `${START}&returnTo=${encodeURIComponent(`${APP_URL}/welcome`)}`);
    const res = await callBack(t, callback, cookie).expect(302);
    expect(res.headers.location).toMatch(new RegExp(`^${APP_URL.replace(/\./g, '\\.')}/welcome#code=`));
  });
});

describe('a sign-in through the provider', () => {
  it('signs up a verified address (signup on), then signs the same identity in again, never with a token in a URL', async () => {
    const sub = subject();
    const email = uniqueEmail('staff');
    idp.signInAs(sub, { email, email_verified: true, name: 'Sam Staff' });

    const { callback, cookie } = await startAndSignIn(t, START);
    const back = await callBack(t, callback, cookie).expect(302);
    expect(back.headers.location).toMatch(new RegExp(`^${APP_URL.replace(/\./g, '\\.')}/oidc/callback#code=[A-Za-z0-9_-]{43}$`));
    expect(String(back.headers['set-cookie'])).toMatch(/confidant_oidc=;/);
    const first = await exchange(t, codeFrom(back.headers.location as string)).expect(200);

    expect(first.body).toMatchObject({ tokenType: 'Bearer', refreshToken: expect.any(String), user: { email, name: 'Sam Staff', emailVerified: true } });
    const identity = await t.context.models.OidcIdentity.findOne({ where: { subject: sub } });
    expect(identity).toMatchObject({ issuer: idp.issuer, userId: first.body.user.id });

    const again = await startAndSignIn(t, START);
    const second = await exchange(t, codeFrom((await callBack(t, again.callback, again.cookie).expect(302)).headers.location as string)).expect(200);
    expect(second.body.user.id).toBe(first.body.user.id);
    await t.context.events.flush();
    const events = await t.context.models.SecurityEvent.findAll({ where: { userId: first.body.user.id } });
    expect(events.map((event) => event.type)).toEqual(expect.arrayContaining(['account_created', 'identity_linked', 'oidc_login', 'login_success']));
  });

  it('lets a one-time code work once', async () => {
    idp.signInAs(subject(), { email: uniqueEmail('once'), email_verified: true });
    const { callback, cookie } = await startAndSignIn(t, START);
    const code = codeFrom((await callBack(t, callback, cookie).expect(302)).headers.location as string);
    await exchange(t, code).expect(200);
    expect((await exchange(t, code).expect(400)).body.code).toBe('INVALID_OR_EXPIRED_CODE');
  });
});

describe('GET /api/auth/oidc/:provider/callback refuses', () => {
  it('a state that does not match the browser’s cookie (400), and a callback without the cookie', async () => {
    idp.signInAs(subject(), { email: uniqueEmail('state'), email_verified: true });
    const mine = await startAndSignIn(t, START);
    const theirs = await startAndSignIn(t, START);

    const swapped = await callBack(t, mine.callback, theirs.cookie).expect(400);
    expect(swapped.body.code).toBe('OIDC_STATE_MISMATCH');
    expect((await callBack(t, theirs.callback, undefined).expect(400)).body.code).toBe('OIDC_STATE_MISMATCH');
    const forged = new URL(theirs.callback);
    forged.searchParams.set('state', 'A'.repeat(43));
    expect((await callBack(t, forged.href, theirs.cookie).expect(400)).body.code).toBe('OIDC_STATE_MISMATCH');
  });

  it('a callback replayed after it was used (its authorization code with it)', async () => {
    idp.signInAs(subject(), { email: uniqueEmail('replay'), email_verified: true });
    const { callback, cookie } = await startAndSignIn(t, START);
    await callBack(t, callback, cookie).expect(302);
    expect((await callBack(t, callback, cookie).expect(400)).body.code).toBe('OIDC_STATE_MISMATCH');
  });

  it('an authorization code that was already redeemed, presented in another flow: the provider refuses it', async () => {
    idp.signInAs(subject(), { email: uniqueEmail('reused'), email_verified: true });
    const used = await startAndSignIn(t, START);
    await callBack(t, used.callback, used.cookie).expect(302);
    const next = await startAndSignIn(t, START);
    const spliced = new URL(next.callback);
    spliced.searchParams.set('code', new URL(used.callback).searchParams.get('code')!);

    const res = await callBack(t, spliced.href, next.cookie).expect(302);
    expect((await exchange(t, codeFrom(res.headers.location as string)).expect(401)).body.code).toBe('OIDC_LOGIN_FAILED');
  });

  describe('an ID token that does not pass its checks', () => {
    const cases: [string, Parameters<TestOidcProvider['tamper']>[0]][] = [
      ['from another issuer', async (token, forge) => forge({ ...decode(token), iss: 'https://impostor.example' })],
      ['for another audience', async (token, forge) => forge({ ...decode(token), aud: 'somebody-else' })],
      ['signed by another key', async (token, forge) => forge(decode(token), 'other')],
      ['expired', async (token, forge) => forge({ ...decode(token), iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 })],
      ['with a replayed nonce (an earlier sign-in’s ID token)', async () => idp.issuedIdTokens[0]!],
      ['without its nonce', async (token, forge) => forge({ ...decode(token), nonce: undefined })],
    ];
    for (const [label, tamper] of cases) {
      it(label, async () => {
        const email = uniqueEmail('forged');
        idp.signInAs(subject(), { email, email_verified: true });
        const { callback, cookie } = await startAndSignIn(t, START);
        idp.tamper(tamper);
        try {
          const res = await callBack(t, callback, cookie).expect(302);
          const refused = await exchange(t, codeFrom(res.headers.location as string)).expect(401);
          expect(refused.body.code).toBe('OIDC_LOGIN_FAILED');
        } finally {
          idp.tamper(undefined);
        }
        expect(await t.context.models.User.count({ where: { email } })).toBe(0);
        await t.context.events.flush();
        const refusals = await t.context.models.SecurityEvent.findAll({ where: { type: 'oidc_login_refused' }, order: [['createdAt', 'DESC']], limit: 1 });
        expect(refusals[0]!.metadata).toEqual({ provider: 'staff', reason: 'id_token_invalid' });
      });
    }
  });
});

function decode(token: string) {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}
