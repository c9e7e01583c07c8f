import type { SessionStatus } from '../../models/counseling-session.model.js';
import type { EntryView } from './session-views.js';

/**
 * What happened to a session, as it happened: an entry written (over REST or the live
 * channel), a state change, its deletion. `hiddenFromClient` says the entry is a counselor's note,
 * which the client never sees; listeners decide who receives what from it.
 */
export type SessionChange =
  | { type: 'entry.created'; sessionId: string; entry: EntryView; hiddenFromClient: boolean }
  | { type: 'session.state'; sessionId: string; status: SessionStatus; at: string }
  | { type: 'session.deleted'; sessionId: string };

export type SessionChangeListener = (change: SessionChange) => void;

/** In-process announcements after the write committed; a failing listener never fails the write. */
export class SessionChanges {
  private readonly listeners: SessionChangeListener[] = [];

  listen(listener: SessionChangeListener): void {
    this.listeners.push(listener);
  }

  announce(change: SessionChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // a listener's failure is its own: the write has happened
      }
    }
  }
}
