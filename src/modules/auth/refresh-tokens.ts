import { createHash, createHmac, randomBytes } from 'node:crypto';
import { deriveKey } from '../../lib/secret-box.js';

/**
 * Refresh tokens are `<sessionId>.<secret>`: the session id finds the row by primary key,
 * the secret proves possession and is stored only as a SHA-256 hash. The next token is
 * derived from the current one with a server key, so two tabs refreshing with the same
 * token inside the grace window both receive the same new token.
 */
export class RefreshTokens {
  private readonly derivationKey: Buffer;

  constructor(authSecret: string) {
    this.derivationKey = deriveKey(authSecret, 'refresh-token-rotation');
  }

  issue(sessionId: string): string {
    return `${sessionId}.${randomBytes(32).toString('base64url')}`;
  }

  next(current: string): string {
    const sessionId = RefreshTokens.sessionIdOf(current);
    return `${sessionId}.${createHmac('sha256', this.derivationKey).update(current).digest('base64url')}`;
  }

  static hash(token: string): string {
    return createHash('sha256').update(token).digest('hex');
  }

  static sessionIdOf(token: string): string | undefined {
    const match = /^([0-9a-f-]{36})\.[A-Za-z0-9_-]{43}$/.exec(token);
    return match?.[1];
  }
}
