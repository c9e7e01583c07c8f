import type { Modules } from '../modules/index.js';

/** Deletes what is past its date and returns how many rows it removed; a second run removes nothing more. */
export type RetentionJob = (now: Date) => Promise<number>;

/**
 * The data-lifecycle jobs of docs/DESIGN.md §7.4, each owned by the module whose table it
 * trims: expired login sessions and one-time tokens, idempotency keys, counseling entries
 * past SESSION_DATA_RETENTION_DAYS, security events past their retention.
 */
export function retentionJobs(modules: Pick<Modules, 'auth' | 'sessions' | 'securityEvents'>): Record<string, RetentionJob> {
  return { ...modules.auth.retentionJobs, ...modules.sessions.retentionJobs, ...modules.securityEvents.retentionJobs };
}
