import type { Models } from '../../models/index.js';

export interface RevocationListener {
  revoked(sessionIds: string[]): void;
  /** Announcements may have been lost (the bus was disconnected): nothing cached as active can be trusted. */
  missedAnnouncements(): void;
}

/** Revocations from other instances arrive through this (Redis pub/sub when configured). */
export interface RevocationBus {
  publish(sessionIds: string[]): Promise<void>;
  subscribe(listener: RevocationListener): void;
}

interface Entry {
  active: boolean;
  checkedAt: number;
}

const MAX_ENTRIES = 50_000;

/**
 * Answers "is this login session still active?" for every authenticated request without
 * a query each time: a session's state is read at most once per `recheckMs` (60 s), and
 * a revocation on this instance (or announced on the bus) takes effect at once. When the
 * bus may have lost announcements (a reconnect), every session cached as active is read
 * again on its next request.
 */
export class SessionGuard {
  private readonly entries = new Map<string, Entry>();
  /** Bumped when the cache is declared stale, so a read that started before cannot refill it. */
  private epoch = 0;
  /** For tests and benchmarks: how many times the guard read auth_sessions. */
  queries = 0;
  /** Holders of long-lived access (live sockets), told of every revocation this instance learns of. */
  private readonly watchers: RevocationListener[] = [];

  constructor(
    private readonly models: Pick<Models, 'AuthSession'>,
    private readonly recheckMs: number,
    private readonly bus?: RevocationBus,
  ) {
    bus?.subscribe({ revoked: (ids) => this.markRevoked(ids), missedAnnouncements: () => this.forgetActive() });
  }

  async isActive(sessionId: string): Promise<boolean> {
    const entry = this.entries.get(sessionId);
    if (entry && (!entry.active || Date.now() - entry.checkedAt < this.recheckMs)) return entry.active;
    this.queries += 1;
    const epoch = this.epoch;
    const session = await this.models.AuthSession.findByPk(sessionId, { attributes: ['revokedAt', 'expiresAt'] });
    const active = session !== null && session.revokedAt === null && session.expiresAt.getTime() > Date.now();
    if (epoch === this.epoch || !active) this.remember(sessionId, active);
    return active;
  }

  /** Call after the rows are revoked in the database: local refusal now, other instances via the bus. */
  async revoked(sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    this.markRevoked(sessionIds);
    await this.bus?.publish(sessionIds);
  }

  /** Revocations here or announced by other instances, and "announcements may have been lost". */
  watch(listener: RevocationListener): void {
    this.watchers.push(listener);
  }

  private markRevoked(sessionIds: string[]): void {
    for (const id of sessionIds) this.remember(id, false);
    for (const watcher of this.watchers) watcher.revoked(sessionIds);
  }

  private forgetActive(): void {
    this.epoch += 1;
    for (const [id, entry] of this.entries) if (entry.active) this.entries.delete(id);
    for (const watcher of this.watchers) watcher.missedAnnouncements();
  }

  private remember(sessionId: string, active: boolean): void {
    if (active && this.entries.get(sessionId)?.active === false) return; // revoked is final; a read in flight must not undo it
    if (this.entries.size >= MAX_ENTRIES && !this.entries.has(sessionId)) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(sessionId, { active, checkedAt: Date.now() });
  }
}
