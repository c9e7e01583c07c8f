import type { RequestMeta } from '../../http/request-meta.js';
import { AppError } from '../../errors/app-error.js';
import type { AuthModule } from '../auth/index.js';
import type { MfaModule } from '../mfa/index.js';
import type { SecurityEventsModule } from '../security-events/index.js';
import type { AccessUpdate, UsersModule } from '../users/index.js';

export interface AdminDeps {
  accounts: UsersModule['accounts'];
  endSessions: AuthModule['endSessions'];
  factors: MfaModule['factors'];
  events: SecurityEventsModule['recorder'];
}

/** Platform administration; owns no table. */
export function createAdminService(deps: AdminDeps) {
  return {
    listUsers: deps.accounts.list,

    /**
     * Role and disabled flag (the last-admin rule is the accounts' own). Either change ends
     * the user's sessions, so the old role or a disabled account stops working at once.
     */
    async updateUser(actorId: string, userId: string, update: AccessUpdate, meta: RequestMeta) {
      const { user, before } = await deps.accounts.updateAccess(userId, update);
      if (update.role !== undefined && update.role !== before.role) {
        await deps.endSessions({ userId }, 'role_changed');
        deps.events.record({ type: 'role_changed', userId, ...meta, metadata: { by: actorId, from: before.role, to: user.role } });
      }
      if (update.disabled === true && !before.disabled) {
        await deps.endSessions({ userId }, 'user_disabled');
        deps.events.record({ type: 'user_disabled', userId, ...meta, metadata: { by: actorId } });
      }
      return user;
    },

    /**
     * For a person who lost every second factor and every recovery code: removes them all and
     * ends their sessions, so they sign in with the password and enrol again (an enrolment-only
     * session where their role requires a factor). Only with a stated reason, recorded as an
     * event the person sees in their own security events; no secret is ever read. An admin
     * resets their own factors through the step-up-guarded routes of their own account instead.
     */
    async resetSecondFactors(actorId: string, userId: string, reason: string, meta: RequestMeta) {
      if (actorId === userId) throw AppError.forbidden('OWN_FACTORS', 'Manage your own second factors under /api/auth/mfa and /api/auth/passkeys.');
      const user = await deps.accounts.findById(userId);
      if (!user) throw AppError.notFound('user');
      const removed = await deps.factors.removeAll(userId);
      const ended = await deps.endSessions({ userId }, 'mfa_reset');
      deps.events.record({ type: 'mfa_disabled', userId, ...meta, metadata: { method: 'all', resetBy: actorId, reason, totp: removed.totp, webauthnCredentials: removed.passkeys, recoveryCodes: removed.recoveryCodes } });
      return { removed, endedSessions: ended.length };
    },
  };
}

export type AdminService = ReturnType<typeof createAdminService>;
