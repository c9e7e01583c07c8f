import { MemoryStore, type ClientRateLimitInfo, type Options, type Store } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import type { SharedState } from '../infra/shared-state.js';
import type { RateLimitTier } from './rate-limit.js';

/**
 * Counters in Redis so N instances enforce one limit, and in memory whenever Redis is
 * away: a Redis outage never fails a request or turns the limit off. A RedisStore that
 * failed is rebuilt once Redis is back (its script handles would otherwise stay broken).
 */
export class ResilientRateLimitStore implements Store {
  private readonly memory = new MemoryStore();
  private redis?: Promise<RedisStore>;
  private options?: Options;
  readonly prefix: string;

  constructor(
    private readonly shared: SharedState,
    tier: RateLimitTier,
  ) {
    this.prefix = `${shared.keyPrefix}rl:${tier}:`;
  }

  init(options: Options): void {
    this.options = options;
    this.memory.init(options);
  }

  private redisStore(): Promise<RedisStore> | undefined {
    if (!this.shared.ready || !this.options) return undefined;
    this.redis ??= (async () => {
      const store = new RedisStore({ prefix: this.prefix, sendCommand: (...args: string[]) => this.shared.run((client) => client.sendCommand(args)) });
      await store.init(this.options!);
      return store;
    })();
    return this.redis;
  }

  private async either<T>(onRedis: (store: RedisStore) => Promise<T>, onMemory: () => Promise<T>): Promise<T> {
    const pending = this.redisStore();
    if (pending) {
      try {
        return await onRedis(await pending);
      } catch {
        this.redis = undefined; // rebuilt on the next call once Redis is ready again
      }
    }
    return onMemory();
  }

  increment(key: string): Promise<ClientRateLimitInfo> {
    return this.either((store) => store.increment(key), () => this.memory.increment(key));
  }

  decrement(key: string): Promise<void> {
    return this.either((store) => store.decrement(key), () => this.memory.decrement(key));
  }

  resetKey(key: string): Promise<void> {
    return this.either((store) => store.resetKey(key), () => this.memory.resetKey(key));
  }
}
