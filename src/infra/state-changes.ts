import type { Logger } from './logger.js';

/**
 * Logs a dependency's state only when it changes, at WARN: "down" once, then "up again"
 * once. Probes every few seconds while something is away would otherwise fill the log
 * with the same line (and page whoever alerts on it).
 */
export class StateChanges {
  private readonly down = new Map<string, string>();

  constructor(
    private readonly logger: Logger,
    private readonly subject: string,
  ) {}

  observe(name: string, up: boolean, reason = 'unknown'): void {
    const wasDown = this.down.has(name);
    if (up && wasDown) {
      this.down.delete(name);
      this.logger.warn(`${this.subject}: ${name} is up again`);
    } else if (!up && !wasDown) {
      this.down.set(name, reason);
      this.logger.warn(`${this.subject}: ${name} is down`, { reason });
    }
  }
}
