import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors/app-error.js';
import { toAppError } from '../../src/errors/to-app-error.js';
import { WorkLimiter } from '../../src/infra/work-limiter.js';

/** A task the test finishes by hand, so the limiter's state can be read at every step. */
function deferred() {
  let finish!: () => void;
  let fail!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  let started = false;
  return {
    task: () => {
      started = true;
      return done;
    },
    finish,
    fail,
    get started() {
      return started;
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('WorkLimiter', () => {
  it('runs at most concurrency tasks, queues queueLimit more and refuses the rest at once with 503 BUSY', async () => {
    const limiter = new WorkLimiter(2, 1);
    const tasks = Array.from({ length: 5 }, deferred);

    const results = tasks.map((work) => limiter.run(work.task).then(() => 'done', (error: unknown) => error));
    await settle();

    expect(tasks.map((work) => work.started)).toEqual([true, true, false, false, false]);
    const refused = await Promise.all([results[3], results[4]]);
    for (const error of refused) {
      const answered = toAppError(error); // as the error handler answers it
      expect(answered).toBeInstanceOf(AppError);
      expect(answered).toMatchObject({ status: 503, code: 'BUSY', headers: { 'Retry-After': '1' }, isOperational: true });
    }
    expect(limiter.stats).toEqual({ peakRunning: 2, peakWaiting: 1, refused: 2 });

    tasks[0]!.finish();
    await settle();
    expect(tasks[2]!.started).toBe(true); // the waiting task got the freed slot

    tasks[1]!.finish();
    tasks[2]!.finish();
    expect(await Promise.all(results.slice(0, 3))).toEqual(['done', 'done', 'done']);
  });

  it('frees the slot of a task that fails, and passes its error on', async () => {
    const limiter = new WorkLimiter(1, 0);
    const failing = deferred();

    const first = limiter.run(failing.task);
    await expect(limiter.run(async () => 'second')).rejects.toMatchObject({ code: 'BUSY' });
    failing.fail(new Error('argon2 failed'));

    await expect(first).rejects.toThrow('argon2 failed');
    await expect(limiter.run(async () => 'third')).resolves.toBe('third');
  });
});
