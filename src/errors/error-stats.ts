import type { ErrorClass } from './app-error.js';

export interface RecordedError {
  at: string;
  requestId?: string;
  status: number;
  code: string;
  errorClass: ErrorClass;
  method?: string;
  route: string;
}

const RECENT_LIMIT = 100;

function increment(counter: Record<string, number>, key: string | number): void {
  counter[key] = (counter[key] ?? 0) + 1;
}

/**
 * Counters by class, code, route and status, and a ring of the last 100 errors.
 * Entries hold route patterns, never paths, bodies, tokens or personal data.
 */
export class ErrorStats {
  private total = 0;
  private readonly byClass: Record<string, number> = {};
  private readonly byCode: Record<string, number> = {};
  private readonly byRoute: Record<string, number> = {};
  private readonly byStatus: Record<string, number> = {};
  private readonly recent: RecordedError[] = [];
  private readonly startedAt = new Date().toISOString();

  record(entry: RecordedError): void {
    this.total += 1;
    increment(this.byClass, entry.errorClass);
    increment(this.byCode, entry.code);
    increment(this.byRoute, `${entry.method ?? '-'} ${entry.route}`);
    increment(this.byStatus, entry.status);
    this.recent.push(entry);
    if (this.recent.length > RECENT_LIMIT) this.recent.shift();
  }

  snapshot() {
    return {
      since: this.startedAt,
      total: this.total,
      byClass: { ...this.byClass },
      byCode: { ...this.byCode },
      byRoute: { ...this.byRoute },
      byStatus: { ...this.byStatus },
      recent: [...this.recent].reverse(),
    };
  }
}
