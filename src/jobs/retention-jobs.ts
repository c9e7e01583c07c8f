import type { Infra } from '../context.js';
import { purgeExpiredIdempotencyKeys } from '../db/idempotency.js';
import type { Modules } from '../modules/index.js';

/** Deletes what is past its date and returns how many rows it removed; a second run removes nothing more. */
export type RetentionJob = (now: Date) => Promise<number>;

/**
 * The data-lifecycle jobs of docs/DESIGN.md §7.4, each owned by the module whose table it
 * trims (expired login sessions and one-time tokens, closed invitations, counseling entries past
 * SESSION_DATA_RETENTION_DAYS, security events past their retention, export archives a day old), and the idempotency
 * keys that every module's idempotent writes share.
 */
export function retentionJobs(infra: Pick<Infra, 'models'>, modules: Pick<Modules, 'auth' | 'sessions' | 'securityEvents' | 'organizations' | 'mfa' | 'passwordless' | 'files' | 'privacy'>): Record<string, RetentionJob> {
  return {
    ...modules.auth.retentionJobs,
    ...modules.mfa.retentionJobs,
    ...modules.passwordless.retentionJobs,
    'purge-idempotency-keys': (now) => purgeExpiredIdempotencyKeys(infra.models, now),
    ...modules.sessions.retentionJobs,
    ...modules.organizations.retentionJobs,
    ...modules.securityEvents.retentionJobs,
    ...modules.files.retentionJobs,
    ...modules.privacy.retentionJobs,
  };
}
