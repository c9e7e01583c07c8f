import type { JobLocks } from '../infra/job-locks.js';
import type { Logger } from '../infra/logger.js';
import { describeError } from '../infra/logger.js';
import { tallyTotal } from '../infra/retention.js';
import type { RetentionJob } from './retention-jobs.js';

const LOCK_TTL_MS = 10 * 60_000;

export interface JobRunnerDeps {
  jobs: Record<string, RetentionJob>;
  locks: JobLocks;
  logger: Logger;
  /** The time each job runs at (tests pass their own). */
  clock?: () => Date;
}

/** Runs every retention job whose lock this instance wins; returns how many rows each removed. */
export async function runRetentionJobs({ jobs, locks, logger, clock = () => new Date() }: JobRunnerDeps) {
  const results: Record<string, number | 'skipped' | 'failed'> = {};
  for (const [name, job] of Object.entries(jobs)) {
    if (!(await locks.acquire(name, LOCK_TTL_MS))) {
      results[name] = 'skipped';
      continue;
    }
    try {
      const tally = await job.run(clock());
      const removed = tallyTotal(tally);
      results[name] = removed;
      logger.info('retention job done', { job: name, removed, ...(Object.keys(tally).length > 1 && { kinds: tally }) });
      await locks.release(name, { removed });
    } catch (error) {
      results[name] = 'failed';
      logger.error('retention job failed', { job: name, ...describeError(error) });
      await locks.release(name, { failed: true }).catch(() => undefined);
    }
  }
  return results;
}

/** Every `intervalMs`, in-process; the locks make concurrent instances take turns. */
export function scheduleRetentionJobs(deps: JobRunnerDeps, intervalMs: number): () => void {
  if (intervalMs <= 0) return () => undefined;
  const timer = setInterval(() => {
    runRetentionJobs(deps).catch((error: unknown) => deps.logger.error('retention jobs failed', describeError(error)));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
