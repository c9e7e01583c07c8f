import type { Infra } from '../context.js';
import { idempotencyKeysJob } from '../db/idempotency.js';
import type { RetentionJob } from '../infra/retention.js';
import type { Modules } from '../modules/index.js';

export type { RetentionJob } from '../infra/retention.js';

/**
 * The data-lifecycle jobs of docs/DESIGN.md §7.4, each owned by the module whose table it
 * trims (expired login sessions and one-time tokens, closed invitations, security events past
 * their retention, files nobody registered or names, export archives a day old), the
 * idempotency keys that every module's idempotent writes share, and the sessions' data past its
 * retention (entries and attachments, two modules' tables: privacy composes them). The
 * scheduler runs them; the retention report asks each what it would remove.
 */
export function retentionJobs(
  infra: Pick<Infra, 'models'>,
  modules: Pick<Modules, 'auth' | 'sessions' | 'securityEvents' | 'organizations' | 'mfa' | 'passwordless' | 'files' | 'privacy'>,
): Record<string, RetentionJob> {
  return {
    ...modules.auth.retentionJobs,
    ...modules.mfa.retentionJobs,
    ...modules.passwordless.retentionJobs,
    'purge-idempotency-keys': idempotencyKeysJob(infra.models),
    ...modules.privacy.retentionJobs,
    ...modules.sessions.retentionJobs,
    ...modules.organizations.retentionJobs,
    ...modules.securityEvents.retentionJobs,
    ...modules.files.retentionJobs,
  };
}
