import type { SharedState } from '../../infra/shared-state.js';
import type { PublicUser } from '../../models/user.model.js';

const MAX_ENTRIES = 50_000;

/**
 * The caller's profile, read on most authenticated requests, kept in memory so the hot path
 * costs no query. Every write to an account in this module invalidates its entry, here and
 * (with Redis) on every other instance within milliseconds. Pub/sub keeps nothing for an
 * instance that is away, so each (re)subscription empties the cache; while Redis itself is
 * away, an entry lives at most `ttlMs`. A read that started before an invalidation never
 * stores what it read.
 */
export class ProfileCache {
  private readonly entries = new Map<string, { profile: PublicUser; storedAt: number }>();
  private readonly versions = new Map<string, number>();
  private readonly channel?: string;
  /** For tests and benchmarks: how often a profile was read from the database. */
  misses = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly shared?: SharedState,
  ) {
    if (!shared) return;
    this.channel = `${shared.keyPrefix}user-changes`;
    shared.subscribe(
      this.channel,
      (id) => this.forget(id),
      () => this.clear(),
    );
  }

  async get(userId: string, load: () => Promise<PublicUser>): Promise<PublicUser> {
    const entry = this.entries.get(userId);
    if (entry && Date.now() - entry.storedAt < this.ttlMs) return entry.profile;
    const version = this.versions.get(userId) ?? 0;
    this.misses += 1;
    const profile = await load();
    if ((this.versions.get(userId) ?? 0) === version) this.store(userId, profile);
    return profile;
  }

  /** After a write to the account: this instance forgets it now, the others when they hear. */
  async changed(userId: string): Promise<void> {
    this.forget(userId);
    if (this.channel) await this.shared!.publish(this.channel, userId).catch(() => undefined);
  }

  private forget(userId: string): void {
    this.entries.delete(userId);
    this.versions.set(userId, (this.versions.get(userId) ?? 0) + 1);
    if (this.versions.size > MAX_ENTRIES) this.versions.delete(this.versions.keys().next().value as string);
  }

  private clear(): void {
    for (const userId of this.entries.keys()) this.forget(userId);
  }

  private store(userId: string, profile: PublicUser): void {
    if (this.entries.size >= MAX_ENTRIES && !this.entries.has(userId)) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(userId, { profile, storedAt: Date.now() });
  }
}
