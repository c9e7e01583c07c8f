import type { Participant } from './live-bus.js';
import type { LiveConnection, Subscription } from './live-connection.js';
import { RemotePresence } from './remote-presence.js';

/**
 * Who follows which session on this instance, and what each follower is sent: entries to
 * those who may receive content (never a counselor's note to the client), state changes and
 * presence to all of them. Presence merges what the other instances report.
 */
export class Followers {
  private readonly bySession = new Map<string, Set<LiveConnection>>();
  private readonly remote: RemotePresence;

  constructor(
    heartbeatMs: number,
    private readonly send: (connection: LiveConnection, frame: object) => void,
  ) {
    this.remote = new RemotePresence(heartbeatMs);
  }

  /** The sessions followed here. */
  sessions(): string[] {
    return [...this.bySession.keys()];
  }

  add(connection: LiveConnection, sessionId: string, subscription: Subscription): void {
    connection.subscriptions.set(sessionId, subscription);
    let followers = this.bySession.get(sessionId);
    if (!followers) this.bySession.set(sessionId, (followers = new Set()));
    followers.add(connection);
  }

  /** Whether the connection followed the session. */
  remove(connection: LiveConnection, sessionId: string): boolean {
    if (!connection.subscriptions.delete(sessionId)) return false;
    const followers = this.bySession.get(sessionId);
    followers?.delete(connection);
    if (followers?.size === 0) this.bySession.delete(sessionId);
    return true;
  }

  /** Somebody here would receive an entry of the session (else an announced one is not even read). */
  wantContent(sessionId: string): boolean {
    return [...(this.bySession.get(sessionId) ?? [])].some((follower) => follower.subscriptions.get(sessionId)?.content);
  }

  private each(sessionId: string, visit: (connection: LiveConnection, subscription: Subscription) => void): void {
    for (const connection of this.bySession.get(sessionId) ?? []) {
      const subscription = connection.subscriptions.get(sessionId);
      if (subscription && !connection.closing) visit(connection, subscription);
    }
  }

  pushEntry(sessionId: string, entry: { id: string }, hiddenFromClient: boolean): void {
    this.each(sessionId, (connection, subscription) => {
      if (subscription.content && !(hiddenFromClient && subscription.hideNotes)) this.send(connection, { type: 'entry.created', sessionId, entry });
    });
  }

  pushState(sessionId: string, status: string, at: string): void {
    this.each(sessionId, (connection) => this.send(connection, { type: 'session.state', sessionId, status, at }));
  }

  /** The session was deleted: its followers are told and follow it no more. */
  endAll(sessionId: string): void {
    this.each(sessionId, (connection) => this.send(connection, { type: 'unsubscribed', sessionId, reason: 'SESSION_DELETED' }));
    for (const connection of [...(this.bySession.get(sessionId) ?? [])]) this.remove(connection, sessionId);
  }

  /** Who follows the session on this instance (what it reports to the others). */
  local(sessionId: string): Participant[] {
    const seen = new Map<string, Participant>();
    this.each(sessionId, (connection, subscription) => seen.set(connection.userId!, { userId: connection.userId!, role: subscription.participation }));
    return [...seen.values()];
  }

  /** What another instance reported about a session; its followers here are told. */
  reported(sessionId: string, origin: string, participants: Participant[]): void {
    this.remote.report(sessionId, origin, participants);
    this.pushPresence(sessionId);
  }

  /** Who follows the session on any instance: accounts and their part in it, never addresses. */
  pushPresence(sessionId: string): void {
    if (!this.bySession.has(sessionId)) return;
    const seen = new Map<string, Participant>();
    for (const participant of [...this.remote.of(sessionId), ...this.local(sessionId)]) seen.set(participant.userId, participant);
    const participants = [...seen.values()].sort((a, b) => a.userId.localeCompare(b.userId));
    this.each(sessionId, (connection) => this.send(connection, { type: 'presence', sessionId, participants }));
  }

  /** Every heartbeat: stale reports of other instances go. */
  sweep(): void {
    this.remote.sweep();
  }
}
