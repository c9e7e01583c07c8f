import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors/app-error.js';
import type { SessionStatus } from '../../src/models/counseling-session.model.js';
import { activeSecondsAt, transition, type SessionAction, type SessionClock } from '../../src/modules/sessions/session-state.js';

const T0 = new Date('2025-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function clock(status: SessionStatus, activeSeconds = 0, lastResumedAt: Date | null = status === 'active' ? T0 : null): SessionClock {
  return { status, activeSeconds, lastResumedAt };
}

function conflictOf(run: () => unknown): AppError | undefined {
  try {
    run();
  } catch (error) {
    return error as AppError;
  }
  return undefined;
}

describe('transition: the moves that are allowed', () => {
  it('pauses an active session and banks the running time', () => {
    expect(transition(clock('active', 100), 'pause', at(60))).toEqual({ status: 'paused', pausedAt: at(60), lastResumedAt: null, activeSeconds: 160 });
  });

  it('resumes a paused session without adding time', () => {
    expect(transition(clock('paused', 160), 'resume', at(600))).toEqual({ status: 'active', pausedAt: null, lastResumedAt: at(600) });
  });

  it('ends an active session with the running time added', () => {
    expect(transition(clock('active', 30), 'end', at(90))).toEqual({ status: 'ended', endedAt: at(90), pausedAt: null, lastResumedAt: null, activeSeconds: 120 });
  });

  it('ends a paused session without counting the pause', () => {
    expect(transition(clock('paused', 45), 'end', at(3600))).toMatchObject({ status: 'ended', activeSeconds: 45 });
  });
});

describe('transition: every other move is 409 INVALID_TRANSITION', () => {
  const allowed: Record<SessionStatus, SessionAction[]> = { active: ['pause', 'end'], paused: ['resume', 'end'], ended: [] };
  const moves = (['active', 'paused', 'ended'] as const).flatMap((status) =>
    (['pause', 'resume', 'end'] as const).filter((action) => !allowed[status].includes(action)).map((action) => [status, action] as const),
  );

  it('covers the five forbidden moves', () => {
    expect(moves).toEqual([
      ['active', 'resume'],
      ['paused', 'pause'],
      ['ended', 'pause'],
      ['ended', 'resume'],
      ['ended', 'end'],
    ]);
  });

  it.each(moves)('refuses to move a %s session with %s', (status, action) => {
    const error = conflictOf(() => transition(clock(status), action, at(1)));

    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ status: 409, code: 'INVALID_TRANSITION' });
  });
});

describe('activeSecondsAt', () => {
  it('counts the running stretch of an active session in whole seconds', () => {
    expect(activeSecondsAt(clock('active', 10), new Date(T0.getTime() + 2_999))).toBe(12);
  });

  it('counts nothing more while paused or after the end', () => {
    expect(activeSecondsAt(clock('paused', 42, T0), at(10_000))).toBe(42);
    expect(activeSecondsAt(clock('ended', 42, T0), at(10_000))).toBe(42);
  });

  it('never goes backwards when the clock is behind the last resume', () => {
    expect(activeSecondsAt(clock('active', 7), at(-30))).toBe(7);
  });

  it('treats an active session without a resume time as not running', () => {
    expect(activeSecondsAt(clock('active', 5, null), at(100))).toBe(5);
  });

  it('adds up a whole life: 10 min active, an hour paused, 5 min active, ended', () => {
    const paused = transition(clock('active'), 'pause', at(600));
    const resumed = transition(clock('paused', paused.activeSeconds), 'resume', at(4200));
    const ended = transition(clock('active', paused.activeSeconds, resumed.lastResumedAt), 'end', at(4500));

    expect(ended.activeSeconds).toBe(600 + 300);
  });
});
