import type { Logger } from '../lib/logger.js';
import { describeError } from '../lib/logger.js';
import type { Models } from '../models/index.js';
import { JobLocks, newHolderId } from './job-lock.js';
import { RETENTION_JOBS, type RetentionDeps } from './retention-jobs.js';

const LOCK_TTL_MS = 10 * 60_000;

/** Runs every retention job whose lock this instance wins; returns what each removed. */
export async function runRetentionJobs(deps: RetentionDeps & { models: Pick<Models, 'JobLock'>; logger: Logger; holder?: string }) {
  const locks = new JobLocks(deps.models, deps.holder ?? newHolderId());
  const results: Record<string, number | 'skipped' | 'failed'> = {};
  for (const [name, job] of Object.entries(RETENTION_JOBS)) {
    if (!(await locks.acquire(name, LOCK_TTL_MS))) {
      results[name] = 'skipped';
      continue;
    }
    try {
      const removed = await job(deps, new Date());
      results[name] = removed;
      deps.logger.info('retention job done', { job: name, removed });
      await locks.release(name, { removed });
    } catch (error) {
      results[name] = 'failed';
      deps.logger.error('retention job failed', { job: name, ...describeError(error) });
      await locks.release(name, { failed: true }).catch(() => undefined);
    }
  }
  return results;
}

/** Every `intervalMs`, in-process; the locks make concurrent instances take turns. */
export function scheduleRetentionJobs(deps: Parameters<typeof runRetentionJobs>[0], intervalMs: number): () => void {
  if (intervalMs <= 0) return () => undefined;
  const timer = setInterval(() => {
    runRetentionJobs(deps).catch((error: unknown) => deps.logger.error('retention jobs failed', describeError(error)));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
