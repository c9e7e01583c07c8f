import { col, fn, Op, QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import type { Models } from '../../models/index.js';
import type { SecurityEventRecorder } from '../security-events/index.js';
import type { CareService } from './care.service.js';
import type { OrgAccess } from './org-access.js';
import { careView, invitationView } from './organization-views.js';
import type { organizationDataResponse } from './organizations.schemas.js';

export interface OrganizationDataDeps {
  sequelize: Sequelize;
  models: Pick<Models, 'Organization' | 'Membership' | 'Invitation' | 'CareRelationship'>;
  access: Pick<OrgAccess, 'lock'>;
  care: Pick<CareService, 'endLocked'>;
  events: SecurityEventRecorder;
}

const lastOwner = (organizations: string[]) =>
  AppError.conflict('LAST_OWNER', `You are the last owner of ${organizations.length === 1 ? 'an organization' : `${organizations.length} organizations`}: make another member owner, or delete the organization, first.`);

/** A person's organizations in the GDPR export and on account deletion, and the counts an organization's dashboard shows. */
export function createOrganizationData(deps: OrganizationDataDeps) {
  const { models } = deps;

  /** The organizations where the person is the only owner. */
  async function soleOwnerships(userId: string, transaction?: Transaction): Promise<string[]> {
    const owned = await models.Membership.findAll({ where: { userId, role: 'owner' }, attributes: ['organizationId'], transaction });
    const ids = owned.map((row) => row.organizationId);
    if (ids.length === 0) return [];
    const counts = (await models.Membership.findAll({
      where: { organizationId: ids, role: 'owner' },
      attributes: ['organizationId', [fn('COUNT', col('id')), 'owners']],
      group: ['organizationId'],
      raw: true,
      transaction,
    })) as unknown as { organizationId: string; owners: number | string }[];
    return counts.filter((row) => Number(row.owners) <= 1).map((row) => row.organizationId);
  }

  return {
    /** Memberships, relationships, invitations to the person's address; of invitations they sent, only the count (the addresses are other people's). */
    async exportFor(userId: string, email: string): Promise<z.input<typeof organizationDataResponse>> {
      const memberships = await models.Membership.findAll({ where: { userId }, order: [['createdAt', 'ASC']] });
      const organizations = await models.Organization.findAll({ where: { id: memberships.map((membership) => membership.organizationId) } });
      const relationships = await models.CareRelationship.findAll({ where: { [Op.or]: [{ clientId: userId }, { counselorId: userId }] }, order: [['startedAt', 'ASC']] });
      const received = await models.Invitation.findAll({ where: { email }, order: [['createdAt', 'ASC']] });
      return {
        memberships: memberships.flatMap((membership) => {
          const organization = organizations.find((candidate) => candidate.id === membership.organizationId);
          return organization ? [{ organizationId: organization.id, name: organization.name, slug: organization.slug, role: membership.role, joinedAt: membership.createdAt.toISOString() }] : [];
        }),
        careRelationships: relationships.map((care) => ({ ...careView(care), as: care.clientId === userId ? ('client' as const) : ('counselor' as const) })),
        invitations: {
          received: received.map((invitation) => {
            const { email: _email, invitedBy: _invitedBy, ...view } = invitationView(invitation);
            return view;
          }),
          sentCount: await models.Invitation.count({ where: { invitedBy: userId } }),
        },
      };
    },

    /** Account deletion is refused (409 LAST_OWNER) while the person is the last owner of an organization. */
    async assertMayLeave(userId: string): Promise<void> {
      const sole = await soleOwnerships(userId);
      if (sole.length > 0) throw lastOwner(sole);
    },

    /**
     * Inside the deletion's transaction: the person's organizations are locked (in id order),
     * the last-owner rule checked again, and the relationships they counsel in ended (the
     * rows stay with the client's history). Memberships go with the account.
     */
    async releaseAccount(userId: string, transaction: Transaction): Promise<void> {
      const memberships = await models.Membership.findAll({ where: { userId }, order: [['organizationId', 'ASC']], transaction });
      for (const membership of memberships) await deps.access.lock(membership.organizationId, transaction);
      const sole = await soleOwnerships(userId, transaction);
      if (sole.length > 0) throw lastOwner(sole);
      await deps.care.endLocked({ counselorId: userId }, null, 'account_deleted', transaction);
      transaction.afterCommit(() => {
        for (const membership of memberships) {
          deps.events.record({ type: 'member_removed', organizationId: membership.organizationId, metadata: { role: membership.role, reason: 'account_deleted' } });
        }
      });
    },

    /** Members by role, care relationships active and ended (and active per counselor), pending invitations. */
    /** Members by role, care relationships (open ones per counselor) and pending invitations: one statement. */
    async counts(organizationId: string) {
      const rows = await deps.sequelize.query<{ kind: string; key: string | null; n: number | string }>(
        `SELECT 'member' AS kind, CAST(role AS TEXT) AS "key", COUNT(*) AS n FROM memberships WHERE organization_id = :organizationId GROUP BY role
         UNION ALL
         SELECT 'care', CAST(counselor_id AS TEXT), COUNT(*) FROM care_relationships WHERE organization_id = :organizationId AND ended_at IS NULL GROUP BY counselor_id
         UNION ALL
         SELECT 'ended', NULL, COUNT(*) FROM care_relationships WHERE organization_id = :organizationId AND ended_at IS NOT NULL
         UNION ALL
         SELECT 'invitations', NULL, COUNT(*) FROM invitations
          WHERE organization_id = :organizationId AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > :now`,
        { replacements: { organizationId, now: new Date() }, type: QueryTypes.SELECT },
      );
      const of = (kind: string) => rows.filter((row) => row.kind === kind).map((row) => [String(row.key), Number(row.n)] as const);
      const clientsInCare = new Map(of('care'));
      return {
        members: Object.fromEntries(of('member')),
        care: { active: [...clientsInCare.values()].reduce((sum, n) => sum + n, 0), ended: of('ended')[0]?.[1] ?? 0 },
        clientsInCare,
        pendingInvitations: of('invitations')[0]?.[1] ?? 0,
      };
    },
  };
}

export type OrganizationData = ReturnType<typeof createOrganizationData>;
