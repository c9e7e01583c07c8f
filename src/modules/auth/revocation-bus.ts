import type { SharedState } from '../../infra/shared-state.js';
import type { RevocationBus } from './session-guard.js';


/**
 * Revocations announced to every instance over Redis pub/sub, so a session ended on one
 * instance is refused by all of them within milliseconds. If Redis is away, the others
 * still notice within the guard's recheck interval.
 */
export class RedisRevocationBus implements RevocationBus {
  private readonly channel: string;

  constructor(private readonly shared: SharedState) {
    this.channel = `${shared.keyPrefix}session-revocations`;
  }

  async publish(sessionIds: string[]): Promise<void> {
    await this.shared.publish(this.channel, JSON.stringify(sessionIds)).catch(() => undefined);
  }

  subscribe(onRevoked: (sessionIds: string[]) => void): void {
    this.shared.subscribe(this.channel, (message) => {
      try {
        const ids: unknown = JSON.parse(message);
        if (Array.isArray(ids)) onRevoked(ids.filter((id): id is string => typeof id === 'string'));
      } catch {
        // not ours: ignore
      }
    });
  }
}
