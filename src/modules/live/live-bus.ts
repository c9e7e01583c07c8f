import { randomUUID } from 'node:crypto';
import type { SharedState } from '../../infra/shared-state.js';
import type { SessionStatus } from '../../models/counseling-session.model.js';

export interface Participant {
  userId: string;
  role: string;
}

/**
 * What instances tell each other. Never counseling text: an entry travels as its id, and
 * each instance with subscribers reads and decrypts it from the database itself.
 */
export type BusMessage =
  | { kind: 'entry'; sessionId: string; entryId: string }
  | { kind: 'state'; sessionId: string; status: SessionStatus; at: string }
  | { kind: 'deleted'; sessionId: string }
  | { kind: 'presence'; sessionId: string; participants: Participant[] }
  | { kind: 'recheck'; userIds: string[] };

export interface LiveBus {
  /** This instance's id: its own messages come back from Redis and are ignored. */
  readonly origin: string;
  publish(message: BusMessage): void;
  subscribe(onMessage: (message: BusMessage, origin: string) => void): void;
}

/** One instance alone (no REDIS_URL): everything is delivered in-process, nothing to tell. */
export function localBus(): LiveBus {
  return { origin: randomUUID(), publish: () => undefined, subscribe: () => undefined };
}

const KINDS = new Set(['entry', 'state', 'deleted', 'presence', 'recheck']);

/** Redis pub/sub on one channel; a message lost while Redis is away is lost (entries stay readable over REST). */
export function redisBus(shared: SharedState): LiveBus {
  const origin = randomUUID();
  const channel = `${shared.keyPrefix}live`;
  return {
    origin,
    publish(message) {
      shared.publish(channel, JSON.stringify({ origin, ...message })).catch(() => undefined);
    },
    subscribe(onMessage) {
      shared.subscribe(channel, (raw) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw);
        } catch {
          return;
        }
        if (typeof parsed !== 'object' || parsed === null) return;
        const { origin: from, ...message } = parsed as { origin?: unknown; kind?: unknown };
        if (typeof from !== 'string' || from === origin || typeof message.kind !== 'string' || !KINDS.has(message.kind)) return;
        onMessage(message as BusMessage, from);
      });
    },
  };
}
