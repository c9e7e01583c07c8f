import type { Models } from '../../models/index.js';

/** Revocations from other instances arrive through this (Redis pub/sub when configured). */
export interface RevocationBus {
  publish(sessionIds: string[]): Promise<void>;
  subscribe(onRevoked: (sessionIds: string[]) => void): void;
}

interface Entry {
  active: boolean;
  checkedAt: number;
}

const MAX_ENTRIES = 50_000;

/**
 * Answers "is this login session still active?" for every authenticated request without
 * a query each time: a session's state is read at most once per `recheckMs` (60 s), and
 * a revocation on this instance (or announced on the bus) takes effect at once.
 */
export class SessionGuard {
  private readonly entries = new Map<string, Entry>();
  /** For tests and benchmarks: how many times the guard read auth_sessions. */
  queries = 0;

  constructor(
    private readonly models: Pick<Models, 'AuthSession'>,
    private readonly recheckMs: number,
    private readonly bus?: RevocationBus,
  ) {
    bus?.subscribe((ids) => this.markRevoked(ids));
  }

  async isActive(sessionId: string): Promise<boolean> {
    const entry = this.entries.get(sessionId);
    if (entry && (!entry.active || Date.now() - entry.checkedAt < this.recheckMs)) return entry.active;
    this.queries += 1;
    const session = await this.models.AuthSession.findByPk(sessionId, { attributes: ['revokedAt', 'expiresAt'] });
    const active = session !== null && session.revokedAt === null && session.expiresAt.getTime() > Date.now();
    this.remember(sessionId, active);
    return active;
  }

  /** Call after the rows are revoked in the database: local refusal now, other instances via the bus. */
  async revoked(sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    this.markRevoked(sessionIds);
    await this.bus?.publish(sessionIds);
  }

  private markRevoked(sessionIds: string[]): void {
    for (const id of sessionIds) this.remember(id, false);
  }

  private remember(sessionId: string, active: boolean): void {
    if (this.entries.size >= MAX_ENTRIES && !this.entries.has(sessionId)) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(sessionId, { active, checkedAt: Date.now() });
  }
}
