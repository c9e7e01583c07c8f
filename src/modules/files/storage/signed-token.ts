import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../../../crypto/constant-time.js';

/**
 * What the local adapter signs in place of S3's presigned POST policies and GET URLs:
 * `base64url(JSON).base64url(HMAC-SHA256)`, with an expiry inside. Tokens of one kind never
 * pass as the other (the kind is in the MAC).
 */
export function signToken(key: Buffer, kind: 'post' | 'get', claims: Record<string, string | number>): string {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${body}.${createHmac('sha256', key).update(`${kind}.${body}`).digest('base64url')}`;
}

export function verifyToken<T extends { exp: number }>(key: Buffer, kind: 'post' | 'get', token: string, now = Date.now()): T | null {
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
