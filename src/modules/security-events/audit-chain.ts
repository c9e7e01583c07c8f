import { createHash } from 'node:crypto';
import { Op, UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import type { JobLocks } from '../../infra/job-locks.js';
import type { Logger } from '../../infra/logger.js';
import { describeError } from '../../infra/logger.js';
import type { Models } from '../../models/index.js';
import type { SecurityEventModel } from '../../models/security-event.model.js';

export const GENESIS_HASH = '0'.repeat(64);
const BATCH = 500;
const SEAL_LOCK_TTL_MS = 30_000;

/** JSON with object keys sorted at every level, so equal content always hashes equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The personal part of an event: hashed separately so it can be scrubbed without breaking the chain. */
export function personalDigestOf(event: Pick<SecurityEventModel, 'userId' | 'ip' | 'userAgent' | 'metadata'>): string {
  return sha256(canonical({ userId: event.userId, ip: event.ip, userAgent: event.userAgent, metadata: event.metadata ?? {} }));
}

/** An event's organization is sealed outside its personal part; events without one hash as they did before it existed. */
export function eventHash(event: Pick<SecurityEventModel, 'id' | 'type' | 'createdAt' | 'organizationId'>, seq: number, prevHash: string, personalDigest: string): string {
  const organization = event.organizationId ? { organizationId: event.organizationId } : {};
  return sha256(canonical({ prevHash, seq, id: event.id, type: event.type, createdAt: event.createdAt.toISOString(), personalDigest, ...organization }));
}

export interface VerifyResult {
  ok: boolean;
  verified: number;
  checkpoint: { throughSeq: number; anchorHash: string } | null;
  firstBroken?: { seq: number | null; id: string | null; reason: string };
  unsealed: number;
}

/**
 * The tamper-evident log of docs/DESIGN.md §6. Events are written unsealed (off the request path);
 * `sealPending` links them, in order, into a hash chain. Several sealers (instances) can
 * never fork it: `seq` is unique and each event is claimed with `WHERE seq IS NULL`, so a
 * competing batch fails and rolls back whole. Retention purges cut a prefix of the chain
 * and leave a checkpoint naming the hash the rest continues from.
 */
export class AuditChain {
  private sealing?: Promise<number>;
  private scheduled?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly models: Pick<Models, 'SecurityEvent' | 'AuditCheckpoint'>,
    private readonly locks: JobLocks,
    private readonly logger: Logger,
  ) {}

  /** Seals soon, off the caller's path; several calls in quick succession seal once. */
  schedule(delayMs = 200): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = setTimeout(() => {
      this.scheduled = undefined;
      this.sealPending().catch((error: unknown) => this.logger.warn('audit sealing failed', { ...describeError(error), stack: undefined }));
    }, delayMs);
    this.scheduled.unref();
  }

  /** No more scheduled sealing; waits for a round in progress (shutdown, tests). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.scheduled);
    await this.sealing?.catch(() => undefined);
  }

  /** Seals every unsealed event; returns how many. Calls in one process run one after another. */
  async sealPending(): Promise<number> {
    while (this.sealing) await this.sealing.catch(() => undefined);
    this.sealing = this.sealAll().finally(() => (this.sealing = undefined));
    return this.sealing;
  }

  private async sealAll(): Promise<number> {
    if (!(await this.locks.acquire('audit-seal', SEAL_LOCK_TTL_MS))) return 0;
    let sealed = 0;
    try {
      for (;;) {
        const count = await this.sealBatch();
        sealed += count;
        if (count < BATCH) break;
      }
    } catch (error) {
      // A concurrent sealer won the race: its batch stands, ours rolled back; next round continues.
      if (!(error instanceof UniqueConstraintError || error instanceof ConcurrentSealError)) throw error;
      this.logger.debug('audit sealing raced another sealer', describeError(error));
    } finally {
      await this.locks.release('audit-seal', { sealed });
    }
    return sealed;
  }

  private async sealBatch(): Promise<number> {
    return this.sequelize.transaction(async (transaction) => {
      const head = await this.models.SecurityEvent.findOne({ where: { seq: { [Op.ne]: null } }, order: [['seq', 'DESC']], transaction });
      const checkpoint = head ? null : await this.latestCheckpoint(transaction);
      let seq = head ? Number(head.seq) : (checkpoint?.throughSeq ?? 0);
      let prevHash = head?.hash ?? checkpoint?.anchorHash ?? GENESIS_HASH;
      const pending = await this.models.SecurityEvent.findAll({
        where: { seq: null },
        order: [['createdAt', 'ASC'], ['id', 'ASC']],
        limit: BATCH,
        transaction,
      });
      for (const event of pending) {
        seq += 1;
        const personalDigest = personalDigestOf(event);
        const hash = eventHash(event, seq, prevHash, personalDigest);
        const [claimed] = await this.models.SecurityEvent.update(
          { seq, prevHash, hash, personalDigest },
          { where: { id: event.id, seq: null }, transaction },
        );
        if (claimed !== 1) throw new ConcurrentSealError();
        prevHash = hash;
      }
      return pending.length;
    });
  }

  private async latestCheckpoint(transaction?: Transaction) {
    const row = await this.models.AuditCheckpoint.findOne({ order: [['throughSeq', 'DESC']], transaction });
    return row ? { throughSeq: Number(row.throughSeq), anchorHash: row.anchorHash } : null;
  }

  /**
   * Retention: deletes sealed events created before `cutoff` (always a prefix of the chain)
   * and records a checkpoint with the last deleted hash, so verification starts there.
   */
  async purgeBefore(cutoff: Date): Promise<number> {
    await this.sealPending();
    return this.sequelize.transaction(async (transaction) => {
      const firstKept = await this.models.SecurityEvent.findOne({
        where: { seq: { [Op.ne]: null }, createdAt: { [Op.gte]: cutoff } },
        order: [['seq', 'ASC']],
        transaction,
      });
      const lastPurged = await this.models.SecurityEvent.findOne({
        where: { seq: { [Op.ne]: null, ...(firstKept && { [Op.lt]: firstKept.seq }) } },
        order: [['seq', 'DESC']],
        transaction,
      });
      if (!lastPurged?.hash) return 0;
      const throughSeq = Number(lastPurged.seq);
      const purged = await this.models.SecurityEvent.destroy({ where: { seq: { [Op.lte]: throughSeq } }, transaction });
      await this.models.AuditCheckpoint.create({ throughSeq, anchorHash: lastPurged.hash, purgedCount: purged }, { transaction });
      return purged;
    });
  }

  /**
   * How many events `purgeBefore(cutoff)` would delete now, without sealing or deleting: the
   * sealed prefix before the first event kept, and, when every sealed event is older than the
   * cutoff, the unsealed ones older than it too (sealing appends them in the order of their time).
   */
  async countBefore(cutoff: Date): Promise<number> {
    const firstKept = await this.models.SecurityEvent.findOne({ where: { seq: { [Op.ne]: null }, createdAt: { [Op.gte]: cutoff } }, order: [['seq', 'ASC']], attributes: ['seq'] });
    if (firstKept) return this.models.SecurityEvent.count({ where: { seq: { [Op.lt]: Number(firstKept.seq) } } });
    return this.models.SecurityEvent.count({ where: { [Op.or]: [{ seq: { [Op.ne]: null } }, { createdAt: { [Op.lt]: cutoff } }] } });
  }

  /** Events written but not sealed yet, and the age of the oldest: the sealing lag. */
  async unsealed(now = new Date()): Promise<{ count: number; oldestAgeS: number }> {
    const [count, oldest] = await Promise.all([
      this.models.SecurityEvent.count({ where: { seq: null } }),
      this.models.SecurityEvent.min<Date | string | null, SecurityEventModel>('createdAt', { where: { seq: null } }),
    ]);
    const oldestAgeS = oldest ? Math.max(0, (now.getTime() - new Date(oldest).getTime()) / 1000) : 0;
    return { count, oldestAgeS };
  }

  /** Walks the whole chain from the latest checkpoint (or genesis) and reports the first broken link. */
  async verify(): Promise<VerifyResult> {
    const checkpoint = await this.latestCheckpoint();
    let expectedSeq = (checkpoint?.throughSeq ?? 0) + 1;
    let prevHash = checkpoint?.anchorHash ?? GENESIS_HASH;
    let verified = 0;
    const unsealed = await this.models.SecurityEvent.count({ where: { seq: null } });
    const broken = (event: SecurityEventModel | null, reason: string): VerifyResult => ({
      ok: false,
      verified,
      checkpoint,
      unsealed,
      firstBroken: { seq: event?.seq === undefined || event?.seq === null ? null : Number(event.seq), id: event?.id ?? null, reason },
    });

    for (let after = expectedSeq - 1; ; ) {
      const rows = await this.models.SecurityEvent.findAll({ where: { seq: { [Op.gt]: after } }, order: [['seq', 'ASC']], limit: BATCH });
      for (const event of rows) {
        const seq = Number(event.seq);
        if (seq !== expectedSeq) return broken(event, `expected seq ${expectedSeq}, found ${seq}: an event is missing or was moved`);
        if (event.prevHash !== prevHash) return broken(event, 'prev_hash does not match the previous event');
        const scrubbed = event.scrubbedAt !== null;
        if (scrubbed && (event.userId !== null || event.ip !== null || event.userAgent !== null || canonical(event.metadata ?? {}) !== '{}')) {
          return broken(event, 'a scrubbed event holds personal data');
        }
        if (!scrubbed && personalDigestOf(event) !== event.personalDigest) return broken(event, 'user, address, agent or metadata was altered');
        if (event.personalDigest === null || eventHash(event, seq, prevHash, event.personalDigest) !== event.hash) return broken(event, 'the event content does not match its hash');
        prevHash = event.hash!;
        expectedSeq += 1;
        verified += 1;
      }
      if (rows.length < BATCH) break;
      after = expectedSeq - 1;
    }
    return { ok: true, verified, checkpoint, unsealed };
  }
}

class ConcurrentSealError extends Error {
  constructor() {
    super('another sealer claimed an event of this batch');
    this.name = 'ConcurrentSealError';
  }
}
