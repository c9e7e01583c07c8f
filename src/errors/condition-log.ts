/** A condition not seen for this long has passed; when it comes back it is news again. */
const QUIET_MS = 60_000;

/**
 * Remembers the last state of each group of transient conditions (`database:read-only` is
 * state `read-only` of group `database`), so the handler logs a condition when it begins or
 * changes, not for every request it fails: a failover answers hundreds of requests 503 and
 * writes one warning.
 */
export class ConditionLog {
  private readonly last = new Map<string, { state: string; seenAt: number }>();

  /** Whether this occurrence starts a new episode: another state before, or none for a minute. */
  isNew(condition: string, now = Date.now()): boolean {
    const split = condition.indexOf(':');
    const group = split < 0 ? condition : condition.slice(0, split);
    const previous = this.last.get(group);
    this.last.set(group, { state: condition, seenAt: now });
    return previous === undefined || previous.state !== condition || now - previous.seenAt > QUIET_MS;
  }
}
