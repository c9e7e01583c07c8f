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
