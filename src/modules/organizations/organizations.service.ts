import { Op, UniqueConstraintError, type Sequelize, type Transaction, type WhereOptions } from 'sequelize';
import { AppError } from '../../errors/app-error.js';
import { decodeCursor, page } from '../../http/cursor.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { Models } from '../../models/index.js';
import { ORG_ROLES, type MembershipModel, type OrgRole } from '../../models/membership.model.js';
import type { AccessChanges } from './access-changes.js';
import type { SecurityEventRecorder } from '../security-events/index.js';
import type { UserAccounts } from '../users/index.js';
import type { CareService } from './care.service.js';
import type { Caller, OrgAccess } from './org-access.js';
import { ADMIN_ROLES, assertKeepsAnOwner, assertWithinCeiling, STAFF_ROLES } from './org-roles.js';
import type { OrganizationModel } from '../../models/organization.model.js';
import { memberView, organizationView } from './organization-views.js';
import type { CreateOrganizationInput, ListQuery, UpdateOrganizationInput } from './organizations.schemas.js';
import type { RetentionBounds } from './retention-policy.js';

export interface OrganizationsDeps {
  sequelize: Sequelize;
  models: Pick<Models, 'Organization' | 'Membership' | 'CareRelationship'>;
  access: OrgAccess;
  care: Pick<CareService, 'endLocked'>;
  accounts: Pick<UserAccounts, 'findById' | 'contactsOf'>;
  events: SecurityEventRecorder;
  accessChanges?: Pick<AccessChanges, 'announce'>;
  retentionBounds: RetentionBounds;
}

const slugTaken = () => AppError.conflict('SLUG_TAKEN', 'Another organization has this slug.');
const newestFirst = (cursor: ReturnType<typeof decodeCursor>): WhereOptions =>
  cursor ? { [Op.or]: [{ createdAt: { [Op.lt]: cursor.at } }, { createdAt: cursor.at, id: { [Op.lt]: cursor.id } }] } : {};

/** Organizations and their members, under the ceiling and last-owner rules (org-roles.ts). */
export function createOrganizationsService(deps: OrganizationsDeps) {
  const { sequelize, models, access, events } = deps;
  const view = (organization: OrganizationModel, role: OrgRole | null) => organizationView(organization, role, deps.retentionBounds);

  async function membersOf(memberships: MembershipModel[]) {
    const contacts = await deps.accounts.contactsOf(memberships.map((membership) => membership.userId));
    return memberships.map((membership) => memberView(membership, contacts.get(membership.userId)));
  }

  const countOwners = (organizationId: string, transaction: Transaction) => models.Membership.count({ where: { organizationId, role: 'owner' }, transaction });

  return {
    /** Any verified user; the creator becomes its owner. */
    async create(caller: Caller, input: CreateOrganizationInput, meta: RequestMeta) {
      const account = await deps.accounts.findById(caller.userId);
      if (!account?.emailVerifiedAt) throw AppError.forbidden('EMAIL_NOT_VERIFIED', 'Verify your email address before creating an organization.');
      try {
        const organization = await sequelize.transaction(async (transaction) => {
          const created = await models.Organization.create({ name: input.name, slug: input.slug }, { transaction });
          await models.Membership.create({ organizationId: created.id, userId: caller.userId, role: 'owner' }, { transaction });
          return created;
        });
        events.record({ type: 'org_created', userId: caller.userId, organizationId: organization.id, ...meta, metadata: { slug: organization.slug } });
        return view(organization, 'owner');
      } catch (error) {
        if (error instanceof UniqueConstraintError) throw slugTaken();
        throw error;
      }
    },

    /** The caller's memberships, newest first; a platform admin sees every organization. */
    async list(caller: Caller, query: ListQuery) {
      const cursor = decodeCursor(query.cursor);
      if (caller.role === 'admin') {
        const rows = await models.Organization.findAll({ where: newestFirst(cursor), order: [['createdAt', 'DESC'], ['id', 'DESC']], limit: query.limit + 1 });
        const { items, nextCursor } = page(rows, query.limit, (row) => ({ at: row.createdAt, id: row.id }));
        const own = await models.Membership.findAll({ where: { userId: caller.userId, organizationId: items.map((item) => item.id) } });
        const roleIn = (id: string) => own.find((membership) => membership.organizationId === id)?.role ?? null;
        return { items: items.map((organization) => view(organization, roleIn(organization.id))), nextCursor };
      }
      const rows = await models.Membership.findAll({ where: { [Op.and]: [{ userId: caller.userId }, newestFirst(cursor)] }, order: [['createdAt', 'DESC'], ['id', 'DESC']], limit: query.limit + 1 });
      const { items, nextCursor } = page(rows, query.limit, (row) => ({ at: row.createdAt, id: row.id }));
      const organizations = await models.Organization.findAll({ where: { id: items.map((item) => item.organizationId) } });
      return {
        items: items.flatMap((membership) => {
          const organization = organizations.find((candidate) => candidate.id === membership.organizationId);
          return organization ? [view(organization, membership.role)] : [];
        }),
        nextCursor,
      };
    },

    async get(caller: Caller, organizationId: string) {
      const { organization, role } = await access.standing(caller, organizationId);
      return view(organization, role);
    },

    /**
     * Name, slug and the retention of its sessions' data (within the bounds the route's schema
     * checks), by an owner or admin; a change of retention is recorded as org_retention_changed.
     */
    async update(caller: Caller, organizationId: string, changes: UpdateOrganizationInput, meta: RequestMeta) {
      try {
        return await sequelize.transaction(async (transaction) => {
          const { organization, role } = await access.require(caller, organizationId, ADMIN_ROLES, { transaction });
          const before = organization.sessionDataRetentionDays ?? null;
          await organization.update(changes, { transaction });
          const after = changes.sessionDataRetentionDays;
          if (after !== undefined && after !== before) {
            transaction.afterCommit(() => events.record({ type: 'org_retention_changed', userId: caller.userId, organizationId, ...meta, metadata: { from: before, to: after } }));
          }
          return view(organization, role);
        });
      } catch (error) {
        if (error instanceof UniqueConstraintError) throw slugTaken();
        throw error;
      }
    },

    /** By an owner, and only while it has no clients and no care relationships (and so no sessions). */
    async remove(caller: Caller, organizationId: string, meta: RequestMeta): Promise<void> {
      await sequelize.transaction(async (transaction) => {
        const { organization } = await access.require(caller, organizationId, ['owner'], { transaction });
        const clients = await models.Membership.count({ where: { organizationId, role: 'client' }, transaction });
        const relationships = await models.CareRelationship.count({ where: { organizationId }, transaction });
        if (clients > 0 || relationships > 0) {
          throw AppError.conflict('ORGANIZATION_IN_USE', 'An organization with clients or counseling history cannot be deleted.');
        }
        await organization.destroy({ transaction });
        transaction.afterCommit(() => events.record({ type: 'org_deleted', userId: caller.userId, organizationId, ...meta, metadata: { slug: organization.slug } }));
      });
    },

    /** Everyone in the organization, for its owners, admins and managers. */
    async members(caller: Caller, organizationId: string, query: ListQuery & { role?: OrgRole }) {
      await access.require(caller, organizationId, STAFF_ROLES);
      const cursor = decodeCursor(query.cursor);
      const rows = await models.Membership.findAll({
        where: { [Op.and]: [{ organizationId }, query.role ? { role: query.role } : {}, newestFirst(cursor)] },
        order: [['createdAt', 'DESC'], ['id', 'DESC']],
        limit: query.limit + 1,
      });
      const { items, nextCursor } = page(rows, query.limit, (row) => ({ at: row.createdAt, id: row.id }));
      return { items: await membersOf(items), nextCursor };
    },

    /**
     * A member's role, within the caller's ceiling; the last owner keeps theirs. A counselor
     * role needs a counselor account; leaving the counselor or client role ends the member's
     * care relationships in that capacity.
     */
    async changeRole(caller: Caller, organizationId: string, userId: string, next: OrgRole, meta: RequestMeta) {
      const result = await sequelize.transaction(async (transaction) => {
        const { role: actorRole } = await access.require(caller, organizationId, STAFF_ROLES, { transaction });
        const target = await models.Membership.findOne({ where: { organizationId, userId }, transaction });
        if (!target) throw AppError.notFound('member');
        const before = target.role;
        assertWithinCeiling(actorRole!, { target: before, grants: next });
        if (before === next) return target;
        assertKeepsAnOwner(before, before === 'owner' ? await countOwners(organizationId, transaction) : 0, next);
        if (next === 'counselor') {
          const account = await deps.accounts.findById(userId);
          if (account?.role !== 'counselor' || account.disabledAt) {
            throw new AppError(422, 'COUNSELOR_ACCOUNT_REQUIRED', 'Unprocessable request', { detail: 'Only a counselor account can counsel in an organization.' });
          }
        }
        if (before === 'counselor') await deps.care.endLocked({ organizationId, counselorId: userId }, caller.userId, 'role_changed', transaction, meta);
        if (before === 'client') await deps.care.endLocked({ organizationId, clientId: userId }, caller.userId, 'role_changed', transaction, meta);
        await target.update({ role: next }, { transaction });
        transaction.afterCommit(() => {
          events.record({ type: 'org_role_changed', userId, organizationId, ...meta, metadata: { by: caller.userId, from: before, to: next } });
          deps.accessChanges?.announce([userId]);
        });
        return target;
      });
      const [view] = await membersOf([result]);
      return view!;
    },

    /** Staff remove members within their ceiling; anyone may leave. Care relationships of the member end. */
    async removeMember(caller: Caller, organizationId: string, userId: string, meta: RequestMeta): Promise<void> {
      await sequelize.transaction(async (transaction) => {
        const leaving = userId === caller.userId;
        const { role: actorRole } = await access.require(caller, organizationId, leaving ? ORG_ROLES : STAFF_ROLES, { transaction });
        const target = await models.Membership.findOne({ where: { organizationId, userId }, transaction });
        if (!target) throw AppError.notFound('member');
        if (!leaving) assertWithinCeiling(actorRole!, { target: target.role });
        assertKeepsAnOwner(target.role, target.role === 'owner' ? await countOwners(organizationId, transaction) : 0, null);
        await deps.care.endLocked({ organizationId, [Op.or]: [{ counselorId: userId }, { clientId: userId }] }, caller.userId, 'member_removed', transaction, meta);
        await target.destroy({ transaction });
        transaction.afterCommit(() => {
          events.record({ type: 'member_removed', userId, organizationId, ...meta, metadata: { by: caller.userId, role: target.role, left: leaving } });
          deps.accessChanges?.announce([userId]);
        });
      });
    },
  };
}

export type OrganizationsService = ReturnType<typeof createOrganizationsService>;
