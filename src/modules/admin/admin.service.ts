import type { RequestMeta } from '../../http/request-meta.js';
import type { AuthModule } from '../auth/index.js';
import type { SecurityEventsModule } from '../security-events/index.js';
import type { AccessUpdate, UsersModule } from '../users/index.js';

export interface AdminDeps {
  accounts: UsersModule['accounts'];
  endSessions: AuthModule['endSessions'];
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
  };
}

export type AdminService = ReturnType<typeof createAdminService>;
