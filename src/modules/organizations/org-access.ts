import type { Sequelize, Transaction } from 'sequelize';
import { dialectOf } from '../../db/database.js';
import { AppError } from '../../errors/app-error.js';
import type { Actor } from '../../http/route.js';
import type { OrgRole } from '../../models/membership.model.js';
import type { Models } from '../../models/index.js';
import type { OrganizationModel } from '../../models/organization.model.js';

export type Caller = Pick<Actor, 'userId' | 'role'>;

/** How the caller stands in an organization: their role there, or null for a platform admin who is not a member. */
export interface Standing {
  organization: OrganizationModel;
  role: OrgRole | null;
}

/**
 * Who may see an organization at all, and the row lock every change to its members,
 * invitations and care relationships takes first: one lock, always the same, so concurrent
 * changes queue up instead of deadlocking, and the ceiling and last-owner rules are checked
 * against what is committed (SQLite transactions are IMMEDIATE; PostgreSQL uses FOR UPDATE).
 */
export function createOrgAccess(sequelize: Sequelize, models: Pick<Models, 'Organization' | 'Membership'>) {
  const postgres = dialectOf(sequelize) === 'postgres';

  async function standing(caller: Caller, organizationId: string, options: { transaction?: Transaction } = {}): Promise<Standing> {
    const { transaction } = options;
    const organization = await models.Organization.findByPk(organizationId, { transaction, lock: transaction && postgres ? transaction.LOCK.UPDATE : undefined });
    const membership = organization && (await models.Membership.findOne({ where: { organizationId, userId: caller.userId }, transaction }));
    // Outsiders learn nothing: an organization they are not in answers as one that does not exist.
    if (!organization || (!membership && caller.role !== 'admin')) throw AppError.notFound('organization');
    return { organization, role: membership?.role ?? null };
  }

  return {
    standing,

    /**
     * The caller's standing, which must be one of `roles`, or a platform admin where the route
     * admits them (`platformAdmin`): other members and platform admins get 403.
     */
    async require(caller: Caller, organizationId: string, roles: readonly OrgRole[], options: { transaction?: Transaction; platformAdmin?: boolean } = {}): Promise<Standing> {
      const found = await standing(caller, organizationId, options);
      const allowed = (found.role !== null && roles.includes(found.role)) || (options.platformAdmin === true && caller.role === 'admin');
      if (!allowed) throw AppError.forbidden('FORBIDDEN_ORG_ROLE', `This needs one of the organization roles ${roles.join(', ')}.`);
      return found;
    },

    /** Locks the organization's row for the rest of the transaction (every member change starts here). */
    async lock(organizationId: string, transaction: Transaction): Promise<void> {
      await models.Organization.findByPk(organizationId, { attributes: ['id'], transaction, lock: postgres ? transaction.LOCK.UPDATE : undefined });
    },
  };
}

export type OrgAccess = ReturnType<typeof createOrgAccess>;
