import type { Sequelize } from 'sequelize';
import type { DataKeys } from '../../crypto/data-keys.js';
import type { PasswordHasher } from '../../crypto/passwords.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { AuthModule } from '../auth/index.js';
import type { ConsentModule } from '../consent/index.js';
import type { FilesModule } from '../files/index.js';
import type { MfaModule } from '../mfa/index.js';
import type { OrganizationsModule } from '../organizations/index.js';
import type { PasswordlessModule } from '../passwordless/index.js';
import type { SecurityEventsModule } from '../security-events/index.js';
import type { SessionsModule } from '../sessions/index.js';
import { hasPassword, type UsersModule } from '../users/index.js';

export interface PrivacyDeps {
  sequelize: Sequelize;
  passwords: PasswordHasher;
  users: Pick<UsersModule, 'profile' | 'preferences' | 'accounts'>;
  auth: Pick<AuthModule, 'endSessions' | 'loginSessionsForExport'>;
  mfa: Pick<MfaModule, 'factors'>;
  passwordless: Pick<PasswordlessModule, 'identitiesOf'>;
  sessions: Pick<SessionsModule, 'data'>;
  securityEvents: SecurityEventsModule;
  organizations: Pick<OrganizationsModule, 'data'>;
  consent: Pick<ConsentModule, 'history'>;
  files: Pick<FilesModule, 'data'>;
  /** Crypto-shredding: destroys the person's data key in the key store. */
  dataKeys: Pick<DataKeys, 'destroy'>;
}

export const EXPORT_FORMAT_VERSION = 1;

/**
 * GDPR access and erasure (docs/DESIGN.md §7.3), composed from what each module exports
 * about a person. The export holds what is stored about the caller and nothing of anyone
 * else. Deletion removes their data in one transaction and keeps their security events,
 * scrubbed of personal data, so the audit chain still verifies.
 */
export function createPrivacyService(deps: PrivacyDeps) {
  const { users, auth, sessions, securityEvents, organizations } = deps;
  const events = securityEvents.recorder;

  return {
    ownSecurityEvents: (userId: string, limit: number) => securityEvents.forUser(userId, limit),

    async exportAll(userId: string, meta: RequestMeta) {
      const profile = await users.profile(userId);
      const counselingSessions = await sessions.data.exportFor(userId);
      const document = {
        format: 'confidant-export' as const,
        version: EXPORT_FORMAT_VERSION,
        exportedAt: new Date().toISOString(),
        profile,
        preferences: await users.preferences(userId),
        loginSessions: await auth.loginSessionsForExport(userId),
        secondFactors: await deps.mfa.factors.exportFor(userId),
        identities: await deps.passwordless.identitiesOf(userId),
        counselingSessions,
        files: await deps.files.data.exportFor(userId, counselingSessions.map((session) => session.id)),
        ...(profile.role === 'counselor' && { counseledSessions: { count: await sessions.data.countHeldBy(userId) } }),
        organizations: await organizations.data.exportFor(userId, profile.email),
        consents: await deps.consent.history(userId),
        securityEvents: await securityEvents.forUser(userId),
      };
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
        await organizations.data.releaseAccount(userId, transaction);
        await securityEvents.scrubUser(userId, { transaction });
        await users.accounts.destroy(userId, { transaction });
        return keys;
      });
      deps.files.data.discard(objects); // after commit: what fails is left to the orphan sweep
      events.record({ type: 'account_deleted', metadata: { role: user.role, dataKeysDestroyed: keysDestroyed } });
    },
  };
}

export type PrivacyService = ReturnType<typeof createPrivacyService>;
