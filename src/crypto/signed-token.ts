import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './constant-time.js';

/** What a signed link may be for; a token of one kind never passes as another (the kind is in the MAC). */
export type SignedTokenKind = 'post' | 'get' | 'export';

/**
 * Short-lived capabilities in a URL: the local storage adapter's stand-ins for S3's presigned
 * POST policies and GET URLs, and export download links. `base64url(JSON).base64url(HMAC-SHA256)`,
 * with an expiry (`exp`, seconds) inside.
 */
export function signToken(key: Buffer, kind: SignedTokenKind, claims: Record<string, string | number>): string {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${body}.${createHmac('sha256', key).update(`${kind}.${body}`).digest('base64url')}`;
}

export function verifyToken<T extends { exp: number }>(key: Buffer, kind: SignedTokenKind, token: string, now = Date.now()): T | null {
  const [body, mac, extra] = token.split('.');
  if (!body || !mac || extra !== undefined) return null;
  if (!constantTimeEqual(mac, createHmac('sha256', key).update(`${kind}.${body}`).digest('base64url'))) return null;
  try {
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
    return typeof claims.exp === 'number' && claims.exp * 1000 > now ? claims : null;
  } catch {
    return null;
  }
}
