import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RefreshTokens } from '../../src/modules/auth/refresh-tokens.js';

const SECRET = 'a-test-auth-secret-of-at-least-32-bytes!';

describe('RefreshTokens', () => {
  const tokens = new RefreshTokens(SECRET);
  const sessionId = randomUUID();
  const seed = RefreshTokens.newSeed();

  it('makes the same token for the same session, generation and seed (two tabs get the same next token)', () => {
    expect(tokens.token(sessionId, 3, seed)).toBe(tokens.token(sessionId, 3, seed));
    expect(tokens.token(sessionId, 3, seed)).not.toBe(tokens.token(sessionId, 4, seed));
  });

  it('parses its own tokens back into session, generation and mac', () => {
    const token = tokens.token(sessionId, 12, seed);

    expect(RefreshTokens.parse(token)).toEqual({ sessionId, generation: 12, mac: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
  });

  it.each([
    ['an empty string', ''],
    ['no generation', `${randomUUID()}.${'A'.repeat(43)}`],
    ['a negative generation', `${randomUUID()}.-1.${'A'.repeat(43)}`],
    ['a short mac', `${randomUUID()}.0.${'A'.repeat(42)}`],
    ['a session id that is not a UUID', `session.0.${'A'.repeat(43)}`],
    ['trailing text', `${randomUUID()}.0.${'A'.repeat(43)}.x`],
  ])('refuses to parse %s', (_label, token) => {
    expect(RefreshTokens.parse(token)).toBeUndefined();
  });

  it('recognises a genuine token and refuses a forged mac, another seed or another server key', () => {
    const parsed = RefreshTokens.parse(tokens.token(sessionId, 2, seed))!;
    const forged = RefreshTokens.parse(`${sessionId}.2.${'A'.repeat(43)}`)!;
    const otherServer = RefreshTokens.parse(new RefreshTokens(`${SECRET}-other`).token(sessionId, 2, seed))!;

    expect(tokens.genuine(parsed, seed)).toBe(true);
    expect(tokens.genuine(forged, seed)).toBe(false);
    expect(tokens.genuine(parsed, RefreshTokens.newSeed())).toBe(false);
    expect(tokens.genuine(otherServer, seed)).toBe(false);
  });

  it('stores only a SHA-256 hex hash, never the token', () => {
    const token = tokens.token(sessionId, 0, seed);

    expect(RefreshTokens.hash(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(RefreshTokens.hash(token)).not.toContain(token.split('.').at(-1)!);
  });
});
