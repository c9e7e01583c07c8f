import type { SharedState } from './shared-state.js';

const MAX_ENTRIES = 50_000;

/**
 * Per-person values read on most authenticated requests (the caller's profile, their
 * consents), kept in memory so the hot path costs no query. The module that owns the value
 * calls `changed()` after every write to it, which invalidates the entry here and (with
 * Redis, on the channel `name`) on every other instance within milliseconds. Pub/sub keeps nothing for an
 * instance that is away, so each (re)subscription empties the cache; while Redis itself is
 * away, an entry lives at most `ttlMs`. A read that started before an invalidation never
 * stores what it read.
 */
export class InvalidatedCache<T> {
  private readonly entries = new Map<string, { value: T; storedAt: number }>();
  private readonly versions = new Map<string, number>();
  private readonly channel?: string;
  /** For tests and benchmarks: how often a value was read from the database. */
  misses = 0;

  constructor(
    name: string,
    private readonly ttlMs: number,
    private readonly shared?: SharedState,
  ) {
    if (!shared) return;
    this.channel = `${shared.keyPrefix}${name}`;
    shared.subscribe(
      this.channel,
      (id) => this.forget(id),
      () => this.clear(),
    );
  }

  async get(userId: string, load: () => Promise<T>): Promise<T> {
    const entry = this.entries.get(userId);
    if (entry && Date.now() - entry.storedAt < this.ttlMs) return entry.value;
    const version = this.versions.get(userId) ?? 0;
    this.misses += 1;
    const value = await load();
    if ((this.versions.get(userId) ?? 0) === version) this.store(userId, value);
    return value;
  }

  /** After a write to the person's value: this instance forgets it now, the others when they hear. */
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

  private store(userId: string, value: T): void {
    if (this.entries.size >= MAX_ENTRIES && !this.entries.has(userId)) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(userId, { value, storedAt: Date.now() });
  }
}
