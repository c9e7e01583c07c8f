import { Op, UniqueConstraintError, type Sequelize, type Transaction, type WhereOptions } from 'sequelize';
import { AppError } from '../../errors/app-error.js';
import { decodeCursor, page } from '../../http/cursor.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { CareRelationshipModel } from '../../models/care-relationship.model.js';
import type { Models } from '../../models/index.js';
import type { AccessChanges } from './access-changes.js';
import type { SecurityEventRecorder } from '../security-events/index.js';
import type { UserAccounts } from '../users/index.js';
import type { Caller, OrgAccess } from './org-access.js';
import { isStaff, STAFF_ROLES } from './org-roles.js';
import { careView } from './organization-views.js';
import type { ListQuery } from './organizations.schemas.js';

export interface CareDeps {
  sequelize: Sequelize;
  models: Pick<Models, 'CareRelationship' | 'Membership'>;
  access: OrgAccess;
  accounts: Pick<UserAccounts, 'isActiveCounselor'>;
  events: SecurityEventRecorder;
  /** Told who lost (or gained) reach once the relationship's change committed. */
  accessChanges?: Pick<AccessChanges, 'announce'>;
}

/** Why a relationship ended, in its care_ended event. */
export type CareEndReason = 'ended' | 'member_removed' | 'role_changed' | 'account_deleted';

const unprocessable = (code: string, detail: string) => new AppError(422, code, 'Unprocessable request', { detail });

/**
 * Care relationships: a counselor and a client of the same organization. Only an active
 * relationship lets a counselor into a client's sessions; it is ended, never deleted, so the
 * client's history keeps it.
 */
export function createCareService(deps: CareDeps) {
  const { sequelize, models, access, events } = deps;

  function announce(type: 'care_started' | 'care_ended', care: CareRelationshipModel, by: string | null, transaction: Transaction, meta: Partial<RequestMeta>, extra: Record<string, unknown> = {}) {
    transaction.afterCommit(() => {
      events.record({ type, userId: care.clientId, organizationId: care.organizationId, ...meta, metadata: { careId: care.id, counselorId: care.counselorId, by, ...extra } });
      if (type === 'care_ended') deps.accessChanges?.announce([care.counselorId, care.clientId].filter((id): id is string => id !== null));
    });
  }

  /** Starts a relationship inside the caller's transaction, after the organization's row was locked. */
  async function startLocked(organizationId: string, pair: { counselorId: string; clientId: string }, by: string, transaction: Transaction, meta: Partial<RequestMeta>) {
    const members = await models.Membership.findAll({ where: { organizationId, userId: [pair.counselorId, pair.clientId] }, transaction });
    const roleOf = (userId: string) => members.find((member) => member.userId === userId)?.role;
    if (roleOf(pair.counselorId) !== 'counselor' || !(await deps.accounts.isActiveCounselor(pair.counselorId))) {
      throw unprocessable('NOT_A_COUNSELOR', 'counselorId does not name an active counselor of this organization.');
    }
    if (roleOf(pair.clientId) !== 'client') throw unprocessable('NOT_A_CLIENT', 'clientId does not name a client of this organization.');
    const active = await models.CareRelationship.count({ where: { organizationId, ...pair, endedAt: null }, transaction });
    if (active > 0) throw AppError.conflict('CARE_EXISTS', 'This counselor and client already have an active care relationship here.');
    try {
      const care = await models.CareRelationship.create({ organizationId, ...pair, createdBy: by, startedAt: new Date() }, { transaction });
      announce('care_started', care, by, transaction, meta);
      return care;
    } catch (error) {
      if (error instanceof UniqueConstraintError) throw AppError.conflict('CARE_EXISTS', 'This counselor and client already have an active care relationship here.');
      throw error;
    }
  }

  /** Ends every active relationship matching `where`, inside the caller's transaction. */
  async function endLocked(where: WhereOptions<CareRelationshipModel>, by: string | null, reason: CareEndReason, transaction: Transaction, meta: Partial<RequestMeta> = {}) {
    const ended = await models.CareRelationship.findAll({ where: { [Op.and]: [where, { endedAt: null }] }, transaction });
    if (ended.length === 0) return [];
    const now = new Date();
    await models.CareRelationship.update({ endedAt: now, endedBy: by }, { where: { id: ended.map((care) => care.id) }, transaction });
    for (const care of ended) announce('care_ended', care, by, transaction, meta, { reason });
    return ended;
  }

  return {
    startLocked,
    endLocked,

    /** By an owner, admin or manager. */
    async start(caller: Caller, organizationId: string, pair: { counselorId: string; clientId: string }, meta: RequestMeta) {
      const care = await sequelize.transaction(async (transaction) => {
        await access.require(caller, organizationId, STAFF_ROLES, { transaction });
        return startLocked(organizationId, pair, caller.userId, transaction, meta);
      });
      return careView(care);
    },

    /** Staff see every relationship of the organization; a counselor or client sees their own. */
    async list(caller: Caller, organizationId: string, query: ListQuery & { status: 'active' | 'ended' | 'all' }) {
      const { role } = await access.standing(caller, organizationId);
      if (role === null) throw AppError.forbidden('FORBIDDEN_ORG_ROLE', 'Only the organization’s members see its care relationships.');
      const cursor = decodeCursor(query.cursor);
      const conditions: WhereOptions<CareRelationshipModel>[] = [{ organizationId }];
      if (role === 'counselor') conditions.push({ counselorId: caller.userId });
      else if (!isStaff(role)) conditions.push({ clientId: caller.userId });
      if (query.status !== 'all') conditions.push({ endedAt: query.status === 'active' ? null : { [Op.ne]: null } });
      if (cursor) conditions.push({ [Op.or]: [{ startedAt: { [Op.lt]: cursor.at } }, { startedAt: cursor.at, id: { [Op.lt]: cursor.id } }] });
      const rows = await models.CareRelationship.findAll({ where: { [Op.and]: conditions }, order: [['startedAt', 'DESC'], ['id', 'DESC']], limit: query.limit + 1 });
      const { items, nextCursor } = page(rows, query.limit, (row) => ({ at: row.startedAt, id: row.id }));
      return { items: items.map(careView), nextCursor };
    },

    /** By either side or by the organization's staff; anyone else in it cannot tell the relationship exists. */
    async end(caller: Caller, organizationId: string, careId: string, meta: RequestMeta): Promise<void> {
      await sequelize.transaction(async (transaction) => {
        const { role } = await access.standing(caller, organizationId, { transaction });
        if (role === null) throw AppError.forbidden('FORBIDDEN_ORG_ROLE', 'Only the organization’s members end its care relationships.');
        const care = await models.CareRelationship.findOne({ where: { id: careId, organizationId }, transaction });
        const party = care !== null && (care.counselorId === caller.userId || care.clientId === caller.userId);
        if (!care || !(party || isStaff(role))) throw AppError.notFound('care relationship');
        if (care.endedAt) throw AppError.conflict('CARE_ALREADY_ENDED', 'This care relationship has already ended.');
        await endLocked({ id: care.id }, caller.userId, 'ended', transaction, meta);
      });
    },
  };
}

export type CareService = ReturnType<typeof createCareService>;
