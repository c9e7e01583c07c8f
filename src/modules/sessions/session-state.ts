import type { SqlDialect } from '../../db/sql.js';
import { AppError } from '../../errors/app-error.js';
import type { SessionStatus } from '../../models/counseling-session.model.js';

export type SessionAction = 'pause' | 'resume' | 'end';

export interface SessionClock {
  status: SessionStatus;
  activeSeconds: number;
  lastResumedAt: Date | null;
}

/** Active time only: what was banked at the last pause plus the running stretch, if any. */
export function activeSecondsAt(session: SessionClock, now: Date): number {
  const running = session.status === 'active' && session.lastResumedAt ? now.getTime() - session.lastResumedAt.getTime() : 0;
  return session.activeSeconds + Math.max(0, Math.floor(running / 1000));
}

/**
 * `activeSecondsAt` as an SQL expression over a counseling_sessions row (optionally
 * aliased), for aggregates; `:now` must be bound. Every dashboard and the report count
 * active time this one way: banked seconds plus the running stretch of an active session.
 */
export function activeSecondsSql(sql: SqlDialect, alias = ''): string {
  const column = (name: string) => (alias ? `${alias}.${name}` : name);
  const running = sql.hoursBetween(column('last_resumed_at'), sql.timestampParam('now'));
  return `(${column('active_seconds')} + CASE WHEN ${column('status')} = 'active' AND ${column('last_resumed_at')} IS NOT NULL THEN ${running} * 3600 ELSE 0 END)`;
}

const ALLOWED: Record<SessionAction, SessionStatus[]> = {
  pause: ['active'],
  resume: ['paused'],
  end: ['active', 'paused'],
};

/**
 * The state machine `active ⇄ paused → ended`: the changes an action makes, or a 409
 * INVALID_TRANSITION for any other move.
 */
export function transition(session: SessionClock, action: SessionAction, now: Date) {
  if (!ALLOWED[action].includes(session.status)) {
    throw AppError.conflict('INVALID_TRANSITION', `A ${session.status} session cannot ${action}.`);
  }
  switch (action) {
    case 'pause':
      return { status: 'paused' as const, pausedAt: now, lastResumedAt: null, activeSeconds: activeSecondsAt(session, now) };
    case 'resume':
      return { status: 'active' as const, pausedAt: null, lastResumedAt: now };
    case 'end':
      return { status: 'ended' as const, endedAt: now, pausedAt: null, lastResumedAt: null, activeSeconds: activeSecondsAt(session, now) };
  }
}
