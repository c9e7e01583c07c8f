import type { SharedState } from '../../infra/shared-state.js';
import type { RevocationBus, RevocationListener } from './session-guard.js';

/**
 * Revocations announced to every instance over Redis pub/sub, so a session ended on one
 * instance is refused by all of them within milliseconds. Pub/sub drops what is published
 * while an instance is disconnected, so each (re)subscription asks the guard to read every
 * session again. While Redis is away, the others notice within the guard's recheck interval.
 */
export class RedisRevocationBus implements RevocationBus {
  private readonly channel: string;

  constructor(private readonly shared: SharedState) {
    this.channel = `${shared.keyPrefix}session-revocations`;
  }

  async publish(sessionIds: string[]): Promise<void> {
    await this.shared.publish(this.channel, JSON.stringify(sessionIds)).catch(() => undefined);
  }

  subscribe(listener: RevocationListener): void {
    const onMessage = (message: string) => {
      try {
        const ids: unknown = JSON.parse(message);
        if (Array.isArray(ids)) listener.revoked(ids.filter((id): id is string => typeof id === 'string'));
      } catch {
        // not ours: ignore
      }
    };
    this.shared.subscribe(this.channel, onMessage, () => listener.missedAnnouncements());
  }
}
