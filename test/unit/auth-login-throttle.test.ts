import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LoginThrottle } from '../../src/modules/auth/login-throttle.js';

const EMAIL = 'victim@example.com';

async function failTimes(throttle: LoginThrottle, times: number, email = EMAIL) {
  for (let i = 0; i < times; i += 1) await throttle.failed(email);
}

describe('LoginThrottle (per-account slowing)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets the first 5 failures through without a wait', async () => {
    const throttle = new LoginThrottle();

    for (let i = 1; i <= 4; i += 1) {
      await throttle.failed(EMAIL);
      expect(await throttle.retryAfterS(EMAIL)).toBe(0);
    }
  });

  it('asks for 1 s after 5 failures, then 2, 4, 8... capped at 60 s', async () => {
    const throttle = new LoginThrottle();
    const waits: number[] = [];

    for (let failures = 5; failures <= 13; failures += 1) {
      await failTimes(throttle, failures === 5 ? 5 : 1);
      waits.push(await throttle.retryAfterS(EMAIL));
    }

    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]);
  });

  it('counts the wait down as time passes and lets the next attempt in once it has passed', async () => {
    const throttle = new LoginThrottle();
    await failTimes(throttle, 7); // wait 4 s

    vi.advanceTimersByTime(2_500);
    expect(await throttle.retryAfterS(EMAIL)).toBe(2);
    vi.advanceTimersByTime(1_600);
    expect(await throttle.retryAfterS(EMAIL)).toBe(0);
  });

  it('never asks for more than a minute, however many failures (no long lockout)', async () => {
    const throttle = new LoginThrottle();
    await failTimes(throttle, 100);

    expect(await throttle.retryAfterS(EMAIL)).toBe(60);
    vi.advanceTimersByTime(60_001);
    expect(await throttle.retryAfterS(EMAIL)).toBe(0);
  });

  it('forgets failures after the 15-minute window', async () => {
    const throttle = new LoginThrottle();
    await failTimes(throttle, 5);

    vi.advanceTimersByTime(15 * 60_000 + 1);
    await throttle.failed(EMAIL);

    expect(await throttle.retryAfterS(EMAIL)).toBe(0);
  });

  it('is cleared by a success', async () => {
    const throttle = new LoginThrottle();
    await failTimes(throttle, 8);

    await throttle.succeeded(EMAIL);

    expect(await throttle.retryAfterS(EMAIL)).toBe(0);
    expect(await throttle.failed(EMAIL)).toBe(1);
  });

  it('keeps one count per email', async () => {
    const throttle = new LoginThrottle();
    await failTimes(throttle, 6);

    expect(await throttle.retryAfterS('bystander@example.com')).toBe(0);
    expect(await throttle.retryAfterS(EMAIL)).toBeGreaterThan(0);
  });
});
