import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Op, UniqueConstraintError } from 'sequelize';
import type { Models } from '../models/index.js';

/** Names this process (and this app instance within it) as a lock holder. */
export function newHolderId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/**
 * One holder per job across instances, through a row in `job_locks`: taking the lock is a
 * single conditional UPDATE (or the INSERT of a first row), so two instances can never
 * both win. A crashed holder's lock lapses at `locked_until`.
 */
export class JobLocks {
  constructor(
    private readonly models: Pick<Models, 'JobLock'>,
    private readonly holder: string,
  ) {}

  async acquire(name: string, ttlMs: number): Promise<boolean> {
    const now = new Date();
    const lockedUntil = new Date(now.getTime() + ttlMs);
    const [taken] = await this.models.JobLock.update({ holder: this.holder, lockedUntil }, { where: { name, lockedUntil: { [Op.lte]: now } } });
    if (taken === 1) return true;
    try {
      await this.models.JobLock.create({ name, holder: this.holder, lockedUntil, lastRunAt: null, lastResult: null });
      return true;
    } catch (error) {
      if (error instanceof UniqueConstraintError) return false;
      throw error;
    }
  }

  async release(name: string, result: Record<string, unknown>): Promise<void> {
    const now = new Date();
    await this.models.JobLock.update({ lockedUntil: now, lastRunAt: now, lastResult: result }, { where: { name, holder: this.holder } });
  }
}
