import { Op, type Sequelize, type WhereOptions } from 'sequelize';
import { linkTokenHash, newLinkToken } from '../../crypto/link-tokens.js';
import { AppError } from '../../errors/app-error.js';
import { decodeCursor, page } from '../../http/cursor.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { Mailer } from '../../infra/mailer.js';
import type { Models } from '../../models/index.js';
import type { InvitationModel } from '../../models/invitation.model.js';
import type { SecurityEventRecorder } from '../security-events/index.js';
import type { UserAccounts } from '../users/index.js';
import type { CareService } from './care.service.js';
import type { Caller, OrgAccess } from './org-access.js';
import { assertWithinCeiling, STAFF_ROLES } from './org-roles.js';
import { invitationMail } from './invitation-mail.js';
import { careView, invitationStatus, invitationView, organizationView } from './organization-views.js';
import type { CreateInvitationInput, ListQuery } from './organizations.schemas.js';
import type { RetentionBounds } from './retention-policy.js';

export interface InvitationsDeps {
  sequelize: Sequelize;
  models: Pick<Models, 'Organization' | 'Membership' | 'Invitation'>;
  access: OrgAccess;
  care: Pick<CareService, 'startLocked'>;
  accounts: Pick<UserAccounts, 'findById'>;
  events: SecurityEventRecorder;
  mailer: Mailer;
  appUrl: string;
  ttlDays: number;
  retentionBounds: RetentionBounds;
}

/** Who may invite: staff within their ceiling, and counselors, who invite clients into their own care. */
const INVITERS = [...STAFF_ROLES, 'counselor'] as const;

const invalid = () => AppError.badRequest('INVALID_OR_EXPIRED_INVITATION', 'This invitation is invalid, expired, already used, or for another email address.');
const pending = (now: Date): WhereOptions<InvitationModel> => ({ acceptedAt: null, revokedAt: null, expiresAt: { [Op.gt]: now } });

/**
 * Invitations by email with a one-time token (256 random bits, stored as a SHA-256 only,
 * single use, INVITATION_TTL_DAYS). Inviting never looks up whether the address has an
 * account, so the answer and the mail are the same either way; acceptance needs the
 * invited address, verified, on the signed-in account.
 */
export function createInvitationsService(deps: InvitationsDeps) {
  const { sequelize, models, access, events } = deps;

  return {
    async create(caller: Caller, organizationId: string, input: CreateInvitationInput, meta: RequestMeta) {
      const inviter = await deps.accounts.findById(caller.userId);
      const { token, hash } = newLinkToken();
      const { invitation, organization } = await sequelize.transaction(async (transaction) => {
        const { organization, role } = await access.require(caller, organizationId, INVITERS, { transaction });
        let counselorId = input.counselorId ?? null;
        if (role === 'counselor') {
          if (input.role !== 'client' || (counselorId !== null && counselorId !== caller.userId)) {
            throw AppError.forbidden('ORG_ROLE_CEILING', 'A counselor invites clients, into their own care.');
          }
          counselorId = caller.userId;
        } else {
          assertWithinCeiling(role!, { grants: input.role });
        }
        if (counselorId !== null && role !== 'counselor') {
          const counselor = await models.Membership.findOne({ where: { organizationId, userId: counselorId, role: 'counselor' }, transaction });
          if (!counselor) throw new AppError(422, 'NOT_A_COUNSELOR', 'Unprocessable request', { detail: 'counselorId does not name a counselor of this organization.' });
        }
        const now = new Date();
        // A new invitation replaces an earlier pending one to the same address.
        await models.Invitation.update({ revokedAt: now }, { where: { organizationId, email: input.email, ...pending(now) }, transaction });
        const created = await models.Invitation.create(
          { organizationId, email: input.email, role: input.role, counselorId, invitedBy: caller.userId, tokenHash: hash, expiresAt: new Date(now.getTime() + deps.ttlDays * 86_400_000) },
          { transaction },
        );
        return { invitation: created, organization };
      });
      events.record({ type: 'member_invited', userId: caller.userId, organizationId, ...meta, metadata: { invitationId: invitation.id, role: invitation.role, counselorId: invitation.counselorId } });
      deps.mailer.send(invitationMail(deps.appUrl, invitation.email, { organization: organization.name, inviter: inviter?.name ?? 'Someone', role: invitation.role, ttlDays: deps.ttlDays }, token));
      return invitationView(invitation);
    },

    /** Staff see every invitation of the organization; a counselor sees those they sent. */
    async list(caller: Caller, organizationId: string, query: ListQuery & { status: 'pending' | 'all' }) {
      const { role } = await access.require(caller, organizationId, INVITERS);
      const cursor = decodeCursor(query.cursor);
      const conditions: WhereOptions<InvitationModel>[] = [{ organizationId }];
      if (role === 'counselor') conditions.push({ invitedBy: caller.userId });
      if (query.status === 'pending') conditions.push(pending(new Date()));
      if (cursor) conditions.push({ [Op.or]: [{ createdAt: { [Op.lt]: cursor.at } }, { createdAt: cursor.at, id: { [Op.lt]: cursor.id } }] });
      const rows = await models.Invitation.findAll({ where: { [Op.and]: conditions }, order: [['createdAt', 'DESC'], ['id', 'DESC']], limit: query.limit + 1 });
      const { items, nextCursor } = page(rows, query.limit, (row) => ({ at: row.createdAt, id: row.id }));
      return { items: items.map(invitationView), nextCursor };
    },

    async revoke(caller: Caller, organizationId: string, invitationId: string): Promise<void> {
      await sequelize.transaction(async (transaction) => {
        const { role } = await access.require(caller, organizationId, INVITERS, { transaction });
        const invitation = await models.Invitation.findOne({ where: { id: invitationId, organizationId }, transaction });
        if (!invitation || (role === 'counselor' && invitation.invitedBy !== caller.userId)) throw AppError.notFound('invitation');
        if (role !== 'counselor') assertWithinCeiling(role!, { target: invitation.role });
        if (invitationStatus(invitation) !== 'pending') throw AppError.conflict('INVITATION_NOT_PENDING', 'Only a pending invitation can be revoked.');
        await invitation.update({ revokedAt: new Date() }, { transaction });
      });
    },

    /**
     * Joins the organization with the invited role (and starts the care relationship a
     * counselor's invitation carries). Exactly one use of a token wins; an unknown, used,
     * revoked or expired token and one for another address get the same answer.
     */
    async accept(caller: Caller, token: string, meta: RequestMeta) {
      const invitation = await models.Invitation.findOne({ where: { tokenHash: linkTokenHash(token) } });
      const account = await deps.accounts.findById(caller.userId);
      if (!invitation || !account || invitationStatus(invitation) !== 'pending' || account.email !== invitation.email) throw invalid();
      if (!account.emailVerifiedAt) throw AppError.forbidden('EMAIL_NOT_VERIFIED', 'Verify your email address before accepting an invitation.');
      if (invitation.role === 'counselor' && account.role !== 'counselor') {
        throw new AppError(422, 'COUNSELOR_ACCOUNT_REQUIRED', 'Unprocessable request', { detail: 'Only a counselor account can join as a counselor.' });
      }
      const { organizationId } = invitation;
      const result = await sequelize.transaction(async (transaction) => {
        await access.lock(organizationId, transaction);
        const now = new Date();
        const [claimed] = await models.Invitation.update({ acceptedAt: now, acceptedBy: caller.userId }, { where: { id: invitation.id, ...pending(now) }, transaction });
        if (claimed !== 1) throw invalid();
        const existing = await models.Membership.findOne({ where: { organizationId, userId: caller.userId }, transaction });
        if (existing && existing.role !== invitation.role) throw AppError.conflict('ALREADY_MEMBER', `You are already a ${existing.role} of this organization.`);
        if (!existing) {
          await models.Membership.create({ organizationId, userId: caller.userId, role: invitation.role }, { transaction });
          transaction.afterCommit(() =>
            events.record({ type: 'member_joined', userId: caller.userId, organizationId, ...meta, metadata: { role: invitation.role, invitationId: invitation.id } }),
          );
        }
        const care = invitation.counselorId
          ? await deps.care.startLocked(organizationId, { counselorId: invitation.counselorId, clientId: caller.userId }, invitation.invitedBy ?? caller.userId, transaction, meta)
          : null;
        const organization = await models.Organization.findByPk(organizationId, { transaction });
        return { organization: organizationView(organization!, invitation.role, deps.retentionBounds), care: care && careView(care) };
      });
      return result;
    },
  };
}

export type InvitationsService = ReturnType<typeof createInvitationsService>;
