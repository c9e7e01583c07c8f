import { createHash, createHmac, randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../../crypto/constant-time.js';
import { deriveKey } from '../../crypto/secret-box.js';

export interface ParsedRefreshToken {
  sessionId: string;
  generation: number;
  mac: string;
}

const FORMAT = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(\d{1,9})\.([A-Za-z0-9_-]{43})$/;

/**
 * Refresh tokens are `<sessionId>.<generation>.<mac>`, where the mac is an HMAC (key from
 * AUTH_SECRET) over the session id, the generation and the session's random seed (in the
 * database). So minting one needs both the server key and the database; the token of a
 * generation is always the same (two tabs refreshing at once get the same new token); and
 * a presented token can be proven genuine before it is treated as reuse, so nobody can end
 * a session by sending a made-up token for its id. The database keeps only hashes of the
 * current and previous tokens.
 */
export class RefreshTokens {
  private readonly key: Buffer;

  constructor(authSecret: string) {
    this.key = deriveKey(authSecret, 'refresh-tokens');
  }

  static newSeed(): string {
    return randomBytes(32).toString('base64url');
  }

  token(sessionId: string, generation: number, seed: string): string {
    return `${sessionId}.${generation}.${this.mac(sessionId, generation, seed)}`;
  }

  /** Whether the token was made by this server for this session's seed. */
  genuine(parsed: ParsedRefreshToken, seed: string): boolean {
    return constantTimeEqual(parsed.mac, this.mac(parsed.sessionId, parsed.generation, seed));
  }

  private mac(sessionId: string, generation: number, seed: string): string {
    return createHmac('sha256', this.key).update(`${sessionId}.${generation}.${seed}`).digest('base64url');
  }

  static parse(token: string): ParsedRefreshToken | undefined {
    const match = FORMAT.exec(token);
    return match ? { sessionId: match[1]!, generation: Number(match[2]), mac: match[3]! } : undefined;
  }

  static hash(token: string): string {
    return createHash('sha256').update(token).digest('hex');
  }
}
