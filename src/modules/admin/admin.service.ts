import { Op, col, fn, where, type Sequelize, type WhereOptions } from 'sequelize';
import { dialectOf } from '../../db/database.js';
import { AppError } from '../../errors/app-error.js';
import { decodeCursor, page } from '../../lib/cursor.js';
import type { Models } from '../../models/index.js';
import { publicUser } from '../../models/user.model.js';
import type { AuthSessions } from '../auth/auth-sessions.js';
import type { RequestMeta } from '../auth/auth.service.js';
import type { SecurityEventRecorder } from '../security-events/security-event-recorder.js';
import type { ListUsersQuery, UserUpdate } from './admin.schemas.js';

export interface AdminDeps {
  sequelize: Sequelize;
  models: Pick<Models, 'User'>;
  sessions: AuthSessions;
  events: SecurityEventRecorder;
}

function adminView(user: Parameters<typeof publicUser>[0]) {
  return { ...publicUser(user), disabled: user.disabledAt !== null, disabledAt: user.disabledAt?.toISOString() ?? null };
}

export function createAdminService(deps: AdminDeps) {
  const { sequelize, models } = deps;
  const postgres = dialectOf(sequelize) === 'postgres';

  return {
    async listUsers(query: ListUsersQuery) {
      const cursor = decodeCursor(query.cursor);
      const conditions: WhereOptions[] = [];
      if (query.role) conditions.push({ role: query.role });
      if (query.disabled !== undefined) conditions.push({ disabledAt: query.disabled ? { [Op.ne]: null } : null });
      // A prefix compared as text: `%` and `_` in the filter are characters, not wildcards.
      if (query.email) conditions.push(where(fn('substr', col('email'), 1, query.email.length), query.email));
      if (cursor) conditions.push({ [Op.or]: [{ createdAt: { [Op.lt]: cursor.at } }, { createdAt: cursor.at, id: { [Op.lt]: cursor.id } }] });
      const rows = await models.User.findAll({ where: { [Op.and]: conditions }, order: [['createdAt', 'DESC'], ['id', 'DESC']], limit: query.limit + 1 });
      const { items, nextCursor } = page(rows, query.limit, (row) => ({ at: row.createdAt, id: row.id }));
      return { items: items.map(adminView), nextCursor };
    },

    /**
     * Role and disabled flag. The last active admin can be neither demoted nor disabled:
     * the admin rows are locked (SQLite transactions are IMMEDIATE) so two admins demoting
     * each other at once cannot both succeed. Either change ends the user's sessions, so
     * the old role or a disabled account stops working at once.
     */
    async updateUser(actorId: string, userId: string, update: UserUpdate, meta: RequestMeta) {
      const result = await sequelize.transaction(async (transaction) => {
        // Active admins are locked first and in id order, so two admins demoting each other
        // queue up instead of deadlocking; the target row is locked after them.
        const lock = postgres ? transaction.LOCK.UPDATE : undefined;
        const admins = await models.User.findAll({ where: { role: 'admin', disabledAt: null }, attributes: ['id'], order: [['id', 'ASC']], transaction, lock });
        const user = await models.User.findByPk(userId, { transaction, lock });
        if (!user) throw AppError.notFound('user');
        const before = { role: user.role, disabled: user.disabledAt !== null };
        const losesAdmin = before.role === 'admin' && !before.disabled && ((update.role !== undefined && update.role !== 'admin') || update.disabled === true);
        if (losesAdmin && admins.length <= 1) throw AppError.conflict('LAST_ADMIN', 'The last active admin cannot be demoted or disabled.');
        await user.update(
          {
            ...(update.role !== undefined && { role: update.role }),
            ...(update.disabled !== undefined && { disabledAt: update.disabled ? (user.disabledAt ?? new Date()) : null }),
          },
          { transaction },
        );
        return { user, before };
      });
      const { user, before } = result;
      const roleChanged = update.role !== undefined && update.role !== before.role;
      const disabledNow = update.disabled === true && !before.disabled;
      if (roleChanged) {
        await deps.sessions.revoke({ userId }, 'role_changed');
        deps.events.record({ type: 'role_changed', userId, ...meta, metadata: { by: actorId, from: before.role, to: user.role } });
      }
      if (disabledNow) {
        await deps.sessions.revoke({ userId }, 'user_disabled');
        deps.events.record({ type: 'user_disabled', userId, ...meta, metadata: { by: actorId } });
      }
      return adminView(user);
    },
  };
}

export type AdminService = ReturnType<typeof createAdminService>;
