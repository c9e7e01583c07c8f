import { AppError } from '../../errors/app-error.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { MfaModule } from '../mfa/index.js';
import type { SecurityEventRecorder } from '../security-events/index.js';
import { hasPassword, type UserAccounts } from '../users/index.js';
import type { Identities } from './identities.js';

/**
 * The caller's provider identities. Unlinking one needs a step-up, and is refused when it is
 * the account's last way in that the person set up (a password, a passkey, another identity):
 * a magic link to the address would still work, but nobody should end up relying on it unawares.
 */
export function createIdentityService(deps: { identities: Identities; accounts: UserAccounts; mfa: Pick<MfaModule, 'methodsOf'>; events: SecurityEventRecorder }) {
  return {
    async list(userId: string) {
      const user = await deps.accounts.findById(userId);
      if (!user) throw AppError.notFound('user');
      return { password: hasPassword(user), items: await deps.identities.listFor(userId) };
    },

    async unlink(userId: string, identityId: string, meta: RequestMeta): Promise<void> {
      const user = await deps.accounts.findById(userId);
      if (!user) throw AppError.notFound('user');
      const owned = (await deps.identities.listFor(userId)).find((identity) => identity.id === identityId);
      if (!owned) throw AppError.notFound('identity');
      const passkeys = (await deps.mfa.methodsOf(userId)).includes('passkey');
      if (!hasPassword(user) && !passkeys && (await deps.identities.count(userId)) <= 1) {
        throw AppError.conflict('LAST_SIGN_IN_METHOD', 'This is the last way this account signs in: add a password or a passkey before unlinking it.');
      }
      const removed = await deps.identities.remove(userId, identityId);
      if (!removed) throw AppError.notFound('identity');
      deps.events.record({ type: 'identity_unlinked', userId, ...meta, metadata: { provider: removed.provider } });
    },
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
