import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TokenBucket } from '../../src/modules/live/live-connection.js';
import { RemotePresence } from '../../src/modules/live/remote-presence.js';

describe('TokenBucket (a live socket’s message rate)', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['performance', 'Date'] }));
  afterEach(() => vi.useRealTimers());

  it('takes a burst of twice the rate, then refuses until time refills it', () => {
    const bucket = new TokenBucket(5);

    const burst = Array.from({ length: 12 }, () => bucket.take());

    expect(burst.filter(Boolean)).toHaveLength(10);
    expect(bucket.refused).toBe(2);
    vi.advanceTimersByTime(200); // one message's worth at 5 a second
    expect(bucket.take()).toBe(true);
    expect(bucket.refused).toBe(0);
  });

  it('is exhausted when refusals go on for more than a second’s worth of messages', () => {
    const bucket = new TokenBucket(5);
    for (let i = 0; i < 10; i += 1) bucket.take();

    for (let i = 0; i < 5; i += 1) bucket.take();
    expect(bucket.exhausted).toBe(false);
    bucket.take();
    expect(bucket.exhausted).toBe(true);
  });
});

describe('RemotePresence (what other instances report)', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['Date'] }));
  afterEach(() => vi.useRealTimers());

  it('merges the reports of every instance and forgets one silent for three heartbeats', () => {
    const presence = new RemotePresence(1_000);
    presence.report('s1', 'a', [{ userId: 'u1', role: 'client' }]);
    presence.report('s1', 'b', [{ userId: 'u2', role: 'counselor' }]);
    expect(presence.of('s1')).toHaveLength(2);

    vi.advanceTimersByTime(2_000);
    presence.report('s1', 'b', [{ userId: 'u2', role: 'counselor' }]);
    vi.advanceTimersByTime(1_500);

    expect(presence.of('s1')).toEqual([{ userId: 'u2', role: 'counselor' }]);
  });

  it('drops an instance that reports nobody', () => {
    const presence = new RemotePresence(1_000);
    presence.report('s1', 'a', [{ userId: 'u1', role: 'client' }]);

    presence.report('s1', 'a', []);

    expect(presence.of('s1')).toEqual([]);
  });
});
