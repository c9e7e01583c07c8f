import { createHash } from 'node:crypto';
import type { FailureStore } from '../auth/index.js';

/**
 * At most `max` requests per key within `windowMs` of the previous one, counted where every
 * instance sees the count (Redis, memory while it is away). Keys are hashed: an address or an
 * IP never lands in Redis as it is.
 */
export class RequestBudget {
  constructor(
    private readonly store: FailureStore,
    private readonly scope: string,
    private readonly max: number,
    readonly windowMs: number,
  ) {}

  /** Counts one request; false once the key has used up its budget. */
  async spend(key: string): Promise<boolean> {
    const { count } = await this.store.add(`${this.scope}:${createHash('sha256').update(key).digest('hex')}`, this.windowMs);
    return count <= this.max;
  }
}
