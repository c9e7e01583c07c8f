import type { Sequelize } from 'sequelize';
import type { DataKeys } from '../../crypto/data-keys.js';
import type { PasswordHasher } from '../../crypto/passwords.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { AuthModule } from '../auth/index.js';
import type { FilesModule } from '../files/index.js';
import type { OrganizationsModule } from '../organizations/index.js';
import type { SecurityEventsModule } from '../security-events/index.js';
import type { SessionsModule } from '../sessions/index.js';
import { hasPassword, type UsersModule } from '../users/index.js';
import type { ExportDocument } from './export-document.js';
import type { ExportJobs } from './export-jobs.js';

export interface PrivacyServiceDeps {
  sequelize: Sequelize;
  passwords: PasswordHasher;
  users: Pick<UsersModule, 'accounts'>;
  auth: Pick<AuthModule, 'endSessions'>;
  sessions: Pick<SessionsModule, 'data'>;
  securityEvents: SecurityEventsModule;
  organizations: Pick<OrganizationsModule, 'data'>;
  files: Pick<FilesModule, 'data'>;
  /** Crypto-shredding: destroys the person's data key in the key store. */
  dataKeys: Pick<DataKeys, 'destroy'>;
  documentFor: (userId: string) => Promise<ExportDocument>;
  exports: Pick<ExportJobs, 'releaseAccount'>;
}

/**
 * GDPR access and erasure (docs/DESIGN.md §7.3). Deletion removes their data in one transaction and keeps their security events,
 * scrubbed of personal data, so the audit chain still verifies.
 */
export function createPrivacyService(deps: PrivacyServiceDeps) {
  const { users, auth, sessions, securityEvents, organizations } = deps;
  const events = securityEvents.recorder;

  return {
    ownSecurityEvents: (userId: string, limit: number) => securityEvents.forUser(userId, limit),

    async exportAll(userId: string, meta: RequestMeta) {
      const document = await deps.documentFor(userId);
      events.record({ type: 'data_exported', userId, ...meta });
      return document;
    },

    /**
     * Re-authenticated erasure; every access token of the user is refused before the rows go.
     * The last owner of an organization is refused (409) until ownership moves; a counselor's
     * care relationships end. The person's data key is destroyed first, then the rows: every
     * copy of their counseling content, in any backup of the data, is unreadable from then on.
     */
    async deleteAccount(userId: string, password: string | undefined, meta: RequestMeta): Promise<void> {
      const user = await users.accounts.findById(userId);
      if (!user) throw AppError.notFound('user');
      // Without a password the step-up (a passkey, a code, or a fresh sign-in by magic link or provider) is the proof.
      if (hasPassword(user) && password === undefined) throw AppError.validation([{ path: 'password', message: 'is required for an account with a password' }]);
      if (hasPassword(user) && !(await deps.passwords.verify(user.passwordHash, password!))) {
        events.record({ type: 'login_failure', userId, ...meta, metadata: { reason: 'delete_account_wrong_password' } });
        throw AppError.forbidden('INVALID_PASSWORD', 'The password is incorrect.');
      }
      await organizations.data.assertMayLeave(userId); // 409 LAST_OWNER before anything ends
      await events.flush(); // this user's queued events are written (and scrubbed) with the rest
      await auth.endSessions({ userId }, 'account_deleted');
      // Key first: should deleting the rows fail, what remains reads as erased, never as text.
      const keysDestroyed = await deps.dataKeys.destroy(userId);
      const ownSessions = await sessions.data.idsOf(userId);
      const objects = await deps.sequelize.transaction(async (transaction) => {
        const keys = await deps.files.data.releaseAccount(userId, ownSessions, transaction);
        keys.push(...(await deps.exports.releaseAccount(userId, transaction)));
        await organizations.data.releaseAccount(userId, transaction);
        await securityEvents.scrubUser(userId, { transaction });
        await users.accounts.destroy(userId, { transaction });
        return keys;
      });
      deps.files.data.discard(objects); // after commit: what fails is left to the orphan sweep (an archive's stays unreadable: the key is gone)
      events.record({ type: 'account_deleted', metadata: { role: user.role, dataKeysDestroyed: keysDestroyed } });
    },
  };
}

export type PrivacyService = ReturnType<typeof createPrivacyService>;
