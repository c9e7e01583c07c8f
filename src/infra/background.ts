import type { Logger } from './logger.js';
import { describeError } from './logger.js';

/**
 * Work that must not hold up the response (mail, enumeration-safe flows). Failures are
 * logged, never thrown; `idle()` lets tests and shutdown wait for what is in flight.
 */
export class Background {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly logger: Logger,
    private readonly name: string,
  ) {}

  run(task: () => Promise<void>): void {
    const running = task()
      .catch((error: unknown) => this.logger.error(`${this.name} failed`, { ...describeError(error), stack: undefined }))
      .finally(() => this.pending.delete(running));
    this.pending.add(running);
  }

  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
