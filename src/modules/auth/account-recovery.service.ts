import type { Sequelize } from 'sequelize';
import type { Config } from '../../config/env.js';
import { AppError } from '../../errors/app-error.js';
import type { Background } from '../../infra/background.js';
import type { Mailer } from '../../infra/mailer.js';
import { passwordProblems, type PasswordHasher } from '../../crypto/passwords.js';
import type { UserAccounts } from '../users/index.js';
import type { UserModel } from '../../models/user.model.js';
import type { SecurityEventRecorder } from '../security-events/index.js';
import type { AuthSessions } from './auth-sessions.js';
import type { AccountNotifier, RequestMeta } from './auth.service.js';
import type { MailTemplates } from './mail-templates.js';
import type { OneTimeTokens } from './one-time-tokens.js';

export interface AccountRecoveryDeps {
  config: Pick<Config, 'tokens'>;
  sequelize: Sequelize;
  accounts: UserAccounts;
  passwords: PasswordHasher;
  tokens: OneTimeTokens;
  sessions: AuthSessions;
  events: SecurityEventRecorder;
  mailer: Mailer;
  templates: MailTemplates;
  /** Enumeration-safe flows answer first and do their work here. */
  background: Background;
}

const invalidToken = () => AppError.badRequest('INVALID_OR_EXPIRED_TOKEN', 'This link is invalid, expired or already used.');

/**
 * The mail flows of docs/DESIGN.md §4.2: verification, forgotten and changed passwords. Answers never
 * reveal whether an email has an account: the work for an email happens after the reply.
 */
export function createAccountRecovery(deps: AccountRecoveryDeps) {
  const { config, accounts, tokens, events, mailer, templates } = deps;
  const verificationTtlMs = config.tokens.emailVerificationTtlH * 3_600_000;
  const resetTtlMs = config.tokens.passwordResetTtlMin * 60_000;

  async function sendVerification(user: UserModel): Promise<void> {
    const token = await tokens.issue(user.id, 'verify_email', verificationTtlMs);
    mailer.send(templates.verifyEmail(user, token, config.tokens.emailVerificationTtlH));
  }

  /** The password policy (docs/DESIGN.md §5.7) against this user's email and name, then the argon2id hash. */
  async function newPasswordHash(user: UserModel, password: string, field: string): Promise<string> {
    const problems = passwordProblems(password, user, field);
    if (problems.length > 0) throw AppError.validation(problems);
    return deps.passwords.hash(password);
  }

  const notifier: AccountNotifier = {
    accountCreated: (user) => deps.background.run(() => sendVerification(user)),
    registrationAttempted: (existing) => mailer.send(templates.registrationAttempt(existing)),
  };

  return {
    notifier,

    async verifyEmail(token: string, meta: RequestMeta): Promise<void> {
      const userId = await tokens.consume(token, 'verify_email');
      if (!userId) throw invalidToken();
      await accounts.markEmailVerified(userId);
      events.record({ type: 'email_verified', userId, ...meta });
    },

    resendVerification(email: string): void {
      deps.background.run(async () => {
        const user = await accounts.findByEmail(email);
        if (user && !user.emailVerifiedAt && !user.disabledAt) await sendVerification(user);
      });
    },

    forgotPassword(email: string, meta: RequestMeta): void {
      deps.background.run(async () => {
        const user = await accounts.findByEmail(email);
        events.record({ type: 'password_reset_request', userId: user?.id ?? null, ...meta, metadata: { known: user !== null } });
        if (!user || user.disabledAt) return;
        const token = await tokens.issue(user.id, 'reset_password', resetTtlMs);
        mailer.send(templates.resetPassword(user, token, config.tokens.passwordResetTtlMin));
      });
    },

    /** A working reset link also proves the address, so it verifies the email too. Every session ends. */
    async resetPassword(token: string, password: string, meta: RequestMeta): Promise<void> {
      const live = await tokens.find(token, 'reset_password');
      const user = live ? await accounts.findById(live.userId) : null;
      if (!live || !user || user.disabledAt) throw invalidToken();
      const passwordHash = await newPasswordHash(user, password, 'password');
      await deps.sequelize.transaction(async (transaction) => {
        if ((await tokens.consume(token, 'reset_password', transaction)) !== user.id) throw invalidToken();
        await accounts.setPasswordHash(user.id, passwordHash, { transaction, verifiesEmail: true });
      });
      await deps.sessions.revoke({ userId: user.id }, 'password_reset');
      events.record({ type: 'password_reset_complete', userId: user.id, ...meta });
      mailer.send(templates.passwordChanged(user));
    },

    /** The current password is required; every other session ends, this one stays. */
    async changePassword(userId: string, sessionId: string, input: { currentPassword: string; newPassword: string }, meta: RequestMeta) {
      const user = await accounts.findById(userId);
      if (!user) throw AppError.notFound('user');
      if (!(await deps.passwords.verify(user.passwordHash, input.currentPassword))) {
        events.record({ type: 'login_failure', userId, ...meta, metadata: { reason: 'change_password_wrong_current' } });
        throw AppError.forbidden('INVALID_CURRENT_PASSWORD', 'The current password is incorrect.');
      }
      if (input.newPassword === input.currentPassword) {
        throw AppError.validation([{ path: 'newPassword', message: 'must differ from the current password' }]);
      }
      const passwordHash = await newPasswordHash(user, input.newPassword, 'newPassword');
      await accounts.setPasswordHash(user.id, passwordHash);
      const ended = await deps.sessions.revoke({ userId, exceptId: sessionId }, 'password_change');
      events.record({ type: 'password_change', userId, ...meta, metadata: { endedSessions: ended.length } });
      mailer.send(templates.passwordChanged(user));
    },
  };
}

export type AccountRecovery = ReturnType<typeof createAccountRecovery>;
