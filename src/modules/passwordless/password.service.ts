import { passwordProblems, type PasswordHasher } from '../../crypto/passwords.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { Mailer } from '../../infra/mailer.js';
import type { SecurityEventRecorder } from '../security-events/index.js';
import { hasPassword, type UserAccounts } from '../users/index.js';
import type { PasswordlessMail } from './passwordless-mail.js';

/** An account made without a password may add one later (then POST /change-password changes it). */
export function createPasswordSetter(deps: { accounts: UserAccounts; passwords: PasswordHasher; events: SecurityEventRecorder; mailer: Mailer; mail: PasswordlessMail }) {
  return {
    async add(userId: string, password: string, meta: RequestMeta): Promise<void> {
      const user = await deps.accounts.findById(userId);
      if (!user) throw AppError.notFound('user');
      if (hasPassword(user)) throw AppError.conflict('PASSWORD_ALREADY_SET', 'This account has a password; change it with POST /api/auth/change-password.');
      const problems = passwordProblems(password, user, 'password');
      if (problems.length > 0) throw AppError.validation(problems);
      await deps.accounts.setPasswordHash(user.id, await deps.passwords.hash(password));
      deps.events.record({ type: 'password_change', userId, ...meta, metadata: { added: true } });
      deps.mailer.send(deps.mail.passwordAdded(user));
    },
  };
}

export type PasswordSetter = ReturnType<typeof createPasswordSetter>;
