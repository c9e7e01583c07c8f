import { createHash } from 'node:crypto';
import { AppError } from '../../errors/app-error.js';
import type { SharedState } from '../../infra/shared-state.js';

const FREE_FAILURES = 5;
const WINDOW_MS = 15 * 60_000;
const MAX_DELAY_S = 60;
const MAX_TRACKED = 100_000;

interface Failures {
  count: number;
  lastAt: number;
}

/** Shared counters across instances (Redis) plug in here; memory is the default. */
export interface FailureStore {
  get(key: string): Promise<Failures | undefined>;
  /** Counts one more failure (atomically where the store is shared) and keeps the count for ttlMs. */
  add(key: string, ttlMs: number): Promise<Failures>;
  delete(key: string): Promise<void>;
}

export class MemoryFailureStore implements FailureStore {
  private readonly map = new Map<string, Failures & { expiresAt: number }>();

  async get(key: string) {
    const value = this.map.get(key);
    if (value && value.expiresAt <= Date.now()) {
      this.map.delete(key);
      return undefined;
    }
    return value;
  }

  async add(key: string, ttlMs: number) {
    const count = ((await this.get(key))?.count ?? 0) + 1;
    if (this.map.size >= MAX_TRACKED && !this.map.has(key)) this.map.delete(this.map.keys().next().value as string);
    const value = { count, lastAt: Date.now() };
    this.map.set(key, { ...value, expiresAt: value.lastAt + ttlMs });
    return value;
  }

  async delete(key: string) {
    this.map.delete(key);
  }
}

/** Counters in Redis (one view for every instance), in memory while Redis is away. */
export class SharedFailureStore implements FailureStore {
  private readonly memory = new MemoryFailureStore();

  constructor(private readonly shared: SharedState) {}

  private redisKey(key: string): string {
    return `${this.shared.keyPrefix}${key}`;
  }

  async get(key: string): Promise<Failures | undefined> {
    try {
      const value = await this.shared.run((client) => client.hGetAll(this.redisKey(key)));
      return value.count ? { count: Number(value.count), lastAt: Number(value.lastAt) } : undefined;
    } catch {
      return this.memory.get(key);
    }
  }

  async add(key: string, ttlMs: number): Promise<Failures> {
    const lastAt = Date.now();
    try {
      const [count] = await this.shared.run((client) =>
        client.multi().hIncrBy(this.redisKey(key), 'count', 1).hSet(this.redisKey(key), 'lastAt', String(lastAt)).pExpire(this.redisKey(key), ttlMs).exec(),
      );
      return { count: Number(count), lastAt };
    } catch {
      return this.memory.add(key, ttlMs);
    }
  }

  async delete(key: string): Promise<void> {
    await Promise.all([this.shared.run((client) => client.del(this.redisKey(key))).catch(() => undefined), this.memory.delete(key)]);
  }
}

/**
 * Per-account slowing (docs/DESIGN.md §2.5): after 5 failed logins for one email, whatever the
 * client address, the next attempt must wait 1 s, then 2, 4... capped at 60 s. The cap
 * keeps an attacker from locking a victim out for long; a success clears the count.
 */
export class LoginThrottle {
  constructor(private readonly store: FailureStore = new MemoryFailureStore()) {}

  private key(email: string): string {
    return `login-failures:${createHash('sha256').update(email).digest('hex')}`;
  }

  /** Seconds the caller must still wait before another attempt for this email, or 0. */
  async retryAfterS(email: string): Promise<number> {
    const failures = await this.store.get(this.key(email));
    if (!failures || failures.count < FREE_FAILURES) return 0;
    const delayMs = Math.min(2 ** (failures.count - FREE_FAILURES), MAX_DELAY_S) * 1000;
    const waitMs = failures.lastAt + delayMs - Date.now();
    return waitMs > 0 ? Math.ceil(waitMs / 1000) : 0;
  }

  async failed(email: string): Promise<number> {
    return (await this.store.add(this.key(email), WINDOW_MS)).count;
  }

  async succeeded(email: string): Promise<void> {
    await this.store.delete(this.key(email));
  }
}

/** The answer while an account's sign-ins are slowed, for every step that counts: password, second factor, reauthentication. */
export function loginThrottled(waitS: number): AppError {
  return new AppError(429, 'LOGIN_THROTTLED', 'Too many requests', {
    detail: `Too many failed sign-ins for this account; retry after ${waitS} s.`,
    headers: { 'Retry-After': String(waitS) },
  });
}
