import { AppError } from '../errors/app-error.js';

/** Answered at once when the limiter is full: the same for every caller, so it reveals nothing. */
export function busy(): AppError {
  return new AppError(503, 'BUSY', 'Service unavailable', {
    detail: 'The server is busy; retry in a second.',
    errorClass: 'rate_limit',
    headers: { 'Retry-After': '1' },
    isOperational: true,
    condition: 'capacity:password-hashing',
  });
}

export function isBusy(error: unknown): boolean {
  return error instanceof AppError && error.code === 'BUSY';
}

/**
 * A semaphore with a short queue, for work that runs on libuv's small thread pool (argon2):
 * at most `concurrency` tasks run, at most `queueLimit` wait, and beyond that a task is
 * refused at once with 503 BUSY instead of queueing for seconds behind the others.
 */
export class WorkLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** For tests and monitoring: the most that ran and waited at once, and how many were refused. */
  readonly stats = { peakRunning: 0, peakWaiting: 0, refused: 0 };

  constructor(
    readonly concurrency: number,
    readonly queueLimit: number,
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
      throw busy();
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
