import { createHash } from 'node:crypto';

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
  set(key: string, value: Failures, ttlMs: number): Promise<void>;
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

  async set(key: string, value: Failures, ttlMs: number) {
    if (this.map.size >= MAX_TRACKED && !this.map.has(key)) this.map.delete(this.map.keys().next().value as string);
    this.map.set(key, { ...value, expiresAt: Date.now() + ttlMs });
  }

  async delete(key: string) {
    this.map.delete(key);
  }
}

/**
 * Per-account slowing (SPEC §2.5): after 5 failed logins for one email, whatever the
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
    const key = this.key(email);
    const previous = await this.store.get(key);
    const count = (previous?.count ?? 0) + 1;
    await this.store.set(key, { count, lastAt: Date.now() }, WINDOW_MS);
    return count;
  }

  async succeeded(email: string): Promise<void> {
    await this.store.delete(this.key(email));
  }
}
