/**
 * A refusal for lack of capacity, the same for every caller so it reveals nothing; the error
 * converter answers it as 503 BUSY with Retry-After.
 */
export class CapacityError extends Error {
  readonly code = 'BUSY';

  constructor(readonly resource: string) {
    super(`no capacity for ${resource}`);
    this.name = 'CapacityError';
  }
}

export function isBusy(error: unknown): boolean {
  return error instanceof CapacityError;
}

/**
 * A semaphore with a short queue, for work that runs on libuv's small thread pool (argon2):
 * at most `concurrency` tasks run, at most `queueLimit` wait, and beyond that a task is
 * refused at once (a CapacityError: 503 BUSY) instead of queueing for seconds behind the others.
 */
export class WorkLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** For tests and monitoring: the most that ran and waited at once, and how many were refused. */
  readonly stats = { peakRunning: 0, peakWaiting: 0, refused: 0 };

  constructor(
    readonly concurrency: number,
    readonly queueLimit: number,
    /** What the work is, for the refusal (`password-hashing`). */
    readonly resource = 'work',
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> | void {
    if (this.running < this.concurrency) {
      this.running += 1;
      this.stats.peakRunning = Math.max(this.stats.peakRunning, this.running);
      return;
    }
    if (this.waiting.length >= this.queueLimit) {
      this.stats.refused += 1;
      throw new CapacityError(this.resource);
    }
    const turn = new Promise<void>((resolve) => this.waiting.push(resolve));
    this.stats.peakWaiting = Math.max(this.stats.peakWaiting, this.waiting.length);
    return turn;
  }

  /** Hands the slot to the next waiting task, or frees it. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running -= 1;
  }
}
