import request from 'supertest';
import { expect } from 'vitest';
import type { TestApp } from './app.js';

/** The app's public origin in these tests: never listened on; its URLs are handed to supertest instead. */
export const APP_PUBLIC_URL = 'http://127.0.0.1:4999';

/** Cookies per host, as a browser keeps them for the provider (paths ignored: one provider, one test). */
class CookieJar {
  private readonly byHost = new Map<string, Map<string, string>>();

  store(url: string, setCookies: string[]): void {
    const host = new URL(url).host;
    const jar = this.byHost.get(host) ?? new Map<string, string>();
    for (const cookie of setCookies) {
      const [pair] = cookie.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(cookie)) jar.delete(name);
      else jar.set(name, value);
    }
    this.byHost.set(host, jar);
  }

  header(url: string): string {
    return [...(this.byHost.get(new URL(url).host) ?? new Map()).entries()].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/** The name=value parts of a response's Set-Cookie headers. */
export function cookiesOf(res: { headers: Record<string, unknown> }): string {
  return ([] as string[])
    .concat((res.headers['set-cookie'] as string[] | undefined) ?? [])
    .map((cookie) => cookie.split(';')[0]!)
    .join('; ');
}

/**
 * Follows the provider's redirects as a browser would (its login and consent steps answer at
 * once) until it sends the browser back to the app; returns that callback URL.
 */
export async function throughProvider(authorizationUrl: string, jar = new CookieJar()): Promise<string> {
  let url = authorizationUrl;
  for (let hop = 0; hop < 12; hop += 1) {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header(url) } });
    jar.store(url, res.headers.getSetCookie());
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) throw new Error(`the provider answered ${res.status} at ${url}: ${await res.text()}`);
    const next = new URL(location, url).href;
    if (next.startsWith(APP_PUBLIC_URL)) return next;
    url = next;
  }
  throw new Error('too many redirects at the provider');
}

/** Starts a sign-in at the app, goes through the provider, and returns the callback URL and the browser's binding cookie. */
export async function startAndSignIn(t: TestApp, startPath: string, headers: Record<string, string> = {}) {
  const start = await request(t.app).get(startPath).set(headers).expect(302);
  const cookie = cookiesOf(start);
  expect(cookie).toMatch(/confidant_oidc=/);
  const callback = await throughProvider(start.headers.location as string);
  return { callback, cookie, authorizationUrl: new URL(start.headers.location as string) };
}

/** The app's answer to the provider's redirect back. */
export function callBack(t: TestApp, callbackUrl: string, cookie: string | undefined) {
  const req = request(t.app).get(callbackUrl.slice(APP_PUBLIC_URL.length));
  return cookie ? req.set('Cookie', cookie) : req;
}

/** The one-time code in the fragment of the URL the callback redirects to. */
export function codeFrom(location: string): string {
  const match = /#code=([A-Za-z0-9_-]{43})$/.exec(location);
  expect(match, `no one-time code in ${location}`).not.toBeNull();
  return match![1]!;
}

export function exchange(t: TestApp, code: string, auth?: string) {
  const req = request(t.app).post('/api/auth/oidc/exchange');
  return (auth ? req.set('Authorization', auth) : req).send({ code });
}
