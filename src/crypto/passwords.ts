import argon2 from 'argon2';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as zxcvbnCommon from '@zxcvbn-ts/language-common';
import { WorkLimiter } from '../infra/work-limiter.js';

/** OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane. */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 128;

const zxcvbn = new ZxcvbnFactory({
  dictionary: { ...zxcvbnCommon.dictionary },
  graphs: zxcvbnCommon.adjacencyGraphs,
});

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2_OPTIONS);
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

export function needsRehash(hash: string): boolean {
  return argon2.needsRehash(hash, ARGON2_OPTIONS);
}

/**
 * argon2 runs on libuv's thread pool (UV_THREADPOOL_SIZE, 4 by default), which file and DNS
 * work share: unbounded, a burst of logins queues there for seconds. Through this, at most
 * `concurrency` hashes run and a few wait; the rest are answered 503 BUSY at once.
 */
export class PasswordHasher {
  readonly limiter: WorkLimiter;

  constructor(limits: { concurrency: number; queue: number }) {
    this.limiter = new WorkLimiter(limits.concurrency, limits.queue, 'password-hashing');
  }

  hash(password: string): Promise<string> {
    return this.limiter.run(() => hashPassword(password));
  }

  verify(hash: string, password: string): Promise<boolean> {
    return this.limiter.run(() => verifyPassword(hash, password));
  }
}

let dummyHash: Promise<string> | undefined;
/** Verified against when the email is unknown, so a miss costs what a hit costs. */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword('dummy password for unknown accounts, never matches');
  return dummyHash;
}

/**
 * The policy of docs/DESIGN.md §5.7: 12..128 characters, zxcvbn score >= 3, and not containing the email (or its
 * local part) or the name. Returns the problems, empty when the password is acceptable.
 */
/** A reason a password is refused, for a validation problem's `errors` list. */
export interface PasswordProblem {
  path: string;
  message: string;
}

export function passwordProblems(password: string, context: { email?: string; name?: string }, field = 'password'): PasswordProblem[] {
  const problems: PasswordProblem[] = [];
  const fail = (message: string) => problems.push({ path: field, message });
  if (password.length < PASSWORD_MIN) fail(`must be at least ${PASSWORD_MIN} characters`);
  if (password.length > PASSWORD_MAX) fail(`must be at most ${PASSWORD_MAX} characters`);
  if (problems.length > 0) return problems;

  const lower = password.toLowerCase();
  const email = context.email?.trim().toLowerCase();
  const localPart = email?.split('@')[0];
  const name = context.name?.trim().toLowerCase();
  if (email && (lower.includes(email) || (localPart && localPart.length >= 3 && lower.includes(localPart)))) {
    fail('must not contain your email address');
  }
  if (name && name.length >= 3 && lower.includes(name)) fail('must not contain your name');

  const userInputs = [email, localPart, name, ...(name?.split(/\s+/) ?? [])].filter((value): value is string => Boolean(value));
  const result = zxcvbn.check(password, userInputs);
  if (result.score < 3) fail('is too easy to guess; use a longer passphrase or fewer common words');
  return problems;
}
