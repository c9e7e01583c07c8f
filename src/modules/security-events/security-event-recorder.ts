import { ForeignKeyConstraintError } from 'sequelize';
import type { Logger } from '../../infra/logger.js';
import { describeError } from '../../infra/logger.js';
import type { Models } from '../../models/index.js';
import type { SecurityEventType } from '../../models/security-event.model.js';

export interface SecurityEventInput {
  type: SecurityEventType;
  userId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  metadata?: Record<string, unknown>;
}

interface Pending {
  type: SecurityEventType;
  userId: string | null;
  ip: string | null;
  userAgent: string | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
  attempts: number;
}

const SECRET_KEY = /pass|token|hash|secret|cookie|authorization/i;
const MAX_PENDING = 10_000;
const MAX_ATTEMPTS = 5;
const BATCH = 200;

/** Metadata never carries a password, token or hash, whatever a caller passes. */
function cleanMetadata(metadata: Record<string, unknown> = {}): Record<string, unknown> {
  return Object.fromEntries(Object.entries(metadata).filter(([key, value]) => !SECRET_KEY.test(key) && value !== undefined));
}

/**
 * Security events are written off the request path: `record()` only queues and returns;
 * a background flush inserts in batches and retries a failing database a few times. The
 * operation being recorded can neither fail nor wait because of it.
 */
export class SecurityEventRecorder {
  private pending: Pending[] = [];
  private flushing?: Promise<void>;
  private scheduled = false;
  private readonly observers: ((type: SecurityEventType) => void)[] = [];

  constructor(
    private readonly models: Pick<Models, 'SecurityEvent'>,
    private readonly logger: Logger,
    /** Called after events were written (the audit chain seals them shortly after). */
    private readonly onWritten: () => void = () => undefined,
  ) {}

  /** Hears the type of every event recorded (the metrics count them); never its user, address or metadata. */
  onRecord(observer: (type: SecurityEventType) => void): void {
    this.observers.push(observer);
  }

  record(event: SecurityEventInput): void {
    try {
      for (const observer of this.observers) observer(event.type);
      if (this.pending.length >= MAX_PENDING) {
        this.pending.shift();
        this.logger.warn('security event queue full; dropped the oldest event');
      }
      this.pending.push({
        type: event.type,
        userId: event.userId ?? null,
        ip: event.ip ?? null,
        userAgent: event.userAgent ? event.userAgent.slice(0, 256) : null,
        metadata: cleanMetadata(event.metadata),
        createdAt: new Date(),
        attempts: 0,
      });
      this.schedule();
    } catch (error) {
      this.logger.warn('security event not recorded', describeError(error));
    }
  }

  /** Writes everything queued so far; tests and shutdown await it. Never rejects. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing; // one drain at a time; it takes what we queued too
    if (this.pending.length === 0) return;
    this.flushing = this.drain().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      if (!(await this.writeBatch())) return; // the database refused: retried later by a timer
    }
  }

  /**
   * One insert for the batch. An event about a user deleted meanwhile (its user id no
   * longer exists) is kept, but without the link and personal data, as deletion would.
   */
  private async insert(batch: Pending[]): Promise<void> {
    const rows = batch.map(({ attempts: _attempts, ...row }) => row);
    try {
      await this.models.SecurityEvent.bulkCreate(rows);
    } catch (error) {
      if (!(error instanceof ForeignKeyConstraintError)) throw error;
      for (const row of rows) {
        await this.models.SecurityEvent.create(row).catch(async (rowError: unknown) => {
          if (!(rowError instanceof ForeignKeyConstraintError)) throw rowError;
          await this.models.SecurityEvent.create({ ...row, userId: null, ip: null, userAgent: null, metadata: {}, scrubbedAt: new Date() });
        });
      }
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async writeBatch(): Promise<boolean> {
    const batch = this.pending.splice(0, BATCH);
    try {
      await this.insert(batch);
    } catch (error) {
      const retry = batch.filter((event) => ++event.attempts < MAX_ATTEMPTS);
      this.logger.warn('security events not written yet', { queued: retry.length, dropped: batch.length - retry.length, ...describeError(error), stack: undefined });
      this.pending.unshift(...retry);
      if (retry.length > 0) setTimeout(() => this.schedule(), 1_000 * 2 ** (retry[0]?.attempts ?? 1)).unref();
      return false;
    }
    this.onWritten();
    return true;
  }
}
