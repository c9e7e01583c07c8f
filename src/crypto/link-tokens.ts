import { createHash, randomBytes } from 'node:crypto';

/** What a mailed link carries and what is stored of it: 256 random bits, and only their SHA-256. */
export function newLinkToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: linkTokenHash(token) };
}

export function linkTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
