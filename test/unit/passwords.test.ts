import argon2 from 'argon2';
import { describe, expect, it } from 'vitest';
import {
  ARGON2_OPTIONS,
  dummyPasswordHash,
  hashPassword,
  needsRehash,
  PASSWORD_MAX,
  PASSWORD_MIN,
  passwordProblems,
  verifyPassword,
} from '../../src/crypto/passwords.js';

const STRONG = 'amber-quarry-lantern-sextant-48';

function parametersOf(hash: string): Record<string, string> {
  return Object.fromEntries(hash.split('$')[3]!.split(',').map((pair) => pair.split('=') as [string, string]));
}

describe('hashPassword and verifyPassword', () => {
  it('hash with argon2id at OWASP parameters (19 MiB, t=2, p=1) and a fresh salt each time', async () => {
    const first = await hashPassword(STRONG);
    const second = await hashPassword(STRONG);

    expect(first.startsWith('$argon2id$v=19$')).toBe(true);
    expect(parametersOf(first)).toEqual({ m: '19456', t: '2', p: '1' });
    expect(first).not.toBe(second);
    expect(first).not.toContain(STRONG);
  });

  it('verify the right password and refuse a wrong one', async () => {
    const hash = await hashPassword(STRONG);

    expect(await verifyPassword(hash, STRONG)).toBe(true);
    expect(await verifyPassword(hash, `${STRONG}x`)).toBe(false);
    expect(await verifyPassword(hash, STRONG.toUpperCase())).toBe(false);
  });

  it('answer false, without throwing, for a hash that is not an argon2 hash', async () => {
    expect(await verifyPassword('not-a-hash', STRONG)).toBe(false);
    expect(await verifyPassword('', STRONG)).toBe(false);
  });

  it('keep a dummy hash that never matches, for unknown accounts', async () => {
    const dummy = await dummyPasswordHash();

    expect(await dummyPasswordHash()).toBe(dummy);
    expect(parametersOf(dummy)).toEqual({ m: '19456', t: '2', p: '1' });
    expect(await verifyPassword(dummy, STRONG)).toBe(false);
  });
});

describe('needsRehash', () => {
  it('is true for weaker time or memory parameters, false for the current ones', async () => {
    const weakerTime = await argon2.hash(STRONG, { ...ARGON2_OPTIONS, timeCost: 1 });
    const weakerMemory = await argon2.hash(STRONG, { ...ARGON2_OPTIONS, memoryCost: 8_192 });

    expect(needsRehash(weakerTime)).toBe(true);
    expect(needsRehash(weakerMemory)).toBe(true);
    expect(needsRehash(await hashPassword(STRONG))).toBe(false);
  });
});

describe('passwordProblems', () => {
  const person = { email: 'marigold.skyline@example.com', name: 'Bartholomew Quince' };
  const messages = (password: string, context = person) => passwordProblems(password, context).map((problem) => problem.message);

  it('accepts a strong passphrase', () => {
    expect(passwordProblems(STRONG, person)).toEqual([]);
  });

  it('accepts a strong password of exactly 12 and of exactly 128 characters', () => {
    const twelve = 'qV7#mZ2!xR9p';
    const long = `${'Vq7#Mz2!xR9p-'.repeat(9)}${'k'.repeat(PASSWORD_MAX - 117)}`;

    expect(twelve).toHaveLength(PASSWORD_MIN);
    expect(long).toHaveLength(PASSWORD_MAX);
    expect(passwordProblems(twelve, person)).toEqual([]);
    expect(passwordProblems(long, person)).toEqual([]);
  });

  it('refuses fewer than 12 and more than 128 characters', () => {
    expect(messages('qV7#mZ2!xR9')).toEqual(['must be at least 12 characters']);
    expect(messages('qV7#mZ2!xR9p'.repeat(11))).toEqual(['must be at most 128 characters']);
  });

  it.each(['password1234', 'qwertyuiopas', 'aaaaaaaaaaaa', '123456789012', 'letmein12345', 'Passw0rd!2024'])('refuses the guessable %s (zxcvbn below 3)', (password) => {
    expect(messages(password)).toContain('is too easy to guess; use a longer passphrase or fewer common words');
  });

  it('refuses a password containing the email, its local part, or the name, in any case', () => {
    expect(messages('MARIGOLD.SKYLINE@EXAMPLE.COM-77')).toContain('must not contain your email address');
    expect(messages('xx-marigold.skyline-tundra-77')).toContain('must not contain your email address');
    expect(messages('quasar-bartholomew quince-88')).toContain('must not contain your name');
    expect(messages('quasar-BARTHOLOMEW QUINCE-88')).toContain('must not contain your name');
  });

  it('ignores a local part or name shorter than 3 characters', () => {
    expect(passwordProblems(`al-${STRONG}`, { email: 'al@example.com', name: 'Al' })).toEqual([]);
  });

  it('scores a password built from the person’s own name parts as weak', () => {
    expect(messages('bartholomewquince', { email: 'someone@example.com', name: 'Quince Bartholomew' })).toContain(
      'is too easy to guess; use a longer passphrase or fewer common words',
    );
  });

  it('reports every problem on the password field', () => {
    const problems = passwordProblems('marigold.skyline', person);

    expect(problems.length).toBeGreaterThanOrEqual(2);
    for (const problem of problems) expect(problem.path).toBe('password');
  });
});
