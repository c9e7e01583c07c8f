import { Op, col, fn, where, type Sequelize, type Transaction, type WhereOptions } from 'sequelize';
import { dialectOf } from '../../db/database.js';
import { AppError } from '../../errors/app-error.js';
import { decodeCursor, page } from '../../http/cursor.js';
import type { Models } from '../../models/index.js';
import { publicUser, type Role, type UserModel } from '../../models/user.model.js';
import type { ProfileCache } from './index.js';
import type { AccessUpdate, ListUsersQuery } from './users.schemas.js';

/**
 * The password hash of an account made without a password (a magic link, an OpenID provider):
 * not an argon2 hash, so no password ever verifies against it, like `!` in /etc/shadow.
 */
export const NO_PASSWORD = '!';

/** Whether the account has a password at all (else it signs in by magic link, provider or passkey). */
export function hasPassword(user: Pick<UserModel, 'passwordHash'>): boolean {
  return user.passwordHash !== NO_PASSWORD;
}

export function adminView(user: UserModel) {
  return { ...publicUser(user), disabled: user.disabledAt !== null, disabledAt: user.disabledAt?.toISOString() ?? null };
}

/**
 * The accounts (the `users` table) as other modules use them: sign-in and recovery read and
 * update credentials here, admins list and change access, dashboards count. Nobody else
 * touches the table.
 */
export function createUserAccounts(sequelize: Sequelize, models: Pick<Models, 'User'>, profiles: ProfileCache) {
  const postgres = dialectOf(sequelize) === 'postgres';
  /** The cached profile goes once the change is visible: at commit when inside a transaction. */
  const changed = async (userId: string, transaction?: Transaction) => {
    if (transaction) transaction.afterCommit(() => profiles.changed(userId));
    else await profiles.changed(userId);
  };

  return {
    findById: (id: string, options: { transaction?: Transaction } = {}) => models.User.findByPk(id, options),

    /** Holds the account's row until the transaction ends, so concurrent flows for one person take turns. */
    async lock(userId: string, transaction: Transaction): Promise<void> {
      await models.User.findByPk(userId, { attributes: ['id'], transaction, lock: transaction.LOCK.UPDATE });
    },
    findByEmail: (email: string) => models.User.findOne({ where: { email } }),
    create: (fields: { email: string; name: string; passwordHash: string }) => models.User.create(fields),

    /** An account without a password, made by a link or provider that proved the address: verified from the start. */
    createWithoutPassword: (fields: { email: string; name: string }) => models.User.create({ ...fields, passwordHash: NO_PASSWORD, emailVerifiedAt: new Date() }),

    /** A new password hash; `verifiesEmail` when a mailed link proved the address (a reset). */
    async setPasswordHash(userId: string, passwordHash: string, options: { transaction?: Transaction; verifiesEmail?: boolean } = {}): Promise<void> {
      await models.User.update({ passwordHash }, { where: { id: userId }, transaction: options.transaction });
      if (options.verifiesEmail) {
        await models.User.update({ emailVerifiedAt: new Date() }, { where: { id: userId, emailVerifiedAt: null }, transaction: options.transaction });
        await changed(userId, options.transaction);
      }
    },

    async markEmailVerified(userId: string, options: { transaction?: Transaction } = {}): Promise<void> {
      await models.User.update({ emailVerifiedAt: new Date() }, { where: { id: userId, emailVerifiedAt: null }, ...options });
      await changed(userId, options.transaction);
    },

    /** Points the profile's avatar at a registered file (`replacing`: only while it still shows that one). */
    async setAvatarUrl(userId: string, avatarUrl: string | null, options: { replacing?: string } = {}): Promise<void> {
      await models.User.update({ avatarUrl }, { where: { id: userId, ...(options.replacing !== undefined && { avatarUrl: options.replacing }) } });
      await changed(userId);
    },

    async isActiveCounselor(userId: string): Promise<boolean> {
      return (await models.User.count({ where: { id: userId, role: 'counselor', disabledAt: null } })) > 0;
    },

    async destroy(userId: string, options: { transaction?: Transaction } = {}): Promise<void> {
      await models.User.destroy({ where: { id: userId }, ...options });
      await changed(userId, options.transaction);
    },

    async namesOf(ids: string[]): Promise<Map<string, string>> {
      if (ids.length === 0) return new Map();
      const rows = await models.User.findAll({ where: { id: ids }, attributes: ['id', 'name'] });
      return new Map(rows.map((row) => [row.id, row.name]));
    },

    /** Names and addresses, for the member list an organization's staff see. */
    async contactsOf(ids: string[]): Promise<Map<string, { name: string; email: string }>> {
      if (ids.length === 0) return new Map();
      const rows = await models.User.findAll({ where: { id: ids }, attributes: ['id', 'name', 'email'] });
      return new Map(rows.map((row) => [row.id, { name: row.name, email: row.email }]));
    },

    async totals() {
      const roles = (await models.User.findAll({ attributes: ['role', [fn('COUNT', col('id')), 'count']], group: ['role'], raw: true })) as unknown as {
        role: Role;
        count: number | string;
      }[];
      const disabled = await models.User.count({ where: { disabledAt: { [Op.ne]: null } } });
      return { byRole: Object.fromEntries(roles.map((row) => [row.role, Number(row.count)])), disabled };
    },

    async list(query: ListUsersQuery) {
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
     * each other at once cannot both succeed.
     */
    async updateAccess(userId: string, update: AccessUpdate) {
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
        return { user: adminView(user), before };
      });
      await changed(userId);
      return result;
    },
  };
}

export type UserAccounts = ReturnType<typeof createUserAccounts>;
