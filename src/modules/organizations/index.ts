import { Op } from 'sequelize';
import type { Infra } from '../../context.js';
import { retentionCutoff, tableJob } from '../../infra/retention.js';
import type { SecurityEventsModule } from '../security-events/index.js';
import type { UsersModule } from '../users/index.js';
import { AccessChanges } from './access-changes.js';
import { createCareDirectory } from './care-directory.js';
import { createCareService } from './care.service.js';
import { createInvitationsService } from './invitations.service.js';
import { createOrgAccess, type Caller } from './org-access.js';
import { STAFF_ROLES } from './org-roles.js';
import { createOrganizationData } from './organization-data.js';
import { invitationRoutes, organizationsRoutes } from './organizations.routes.js';
import { createOrganizationsService } from './organizations.service.js';
import { createRetentionPolicy } from './retention-policy.js';

export { organizationDataResponse } from './organizations.schemas.js';
export type { CareDirectory } from './care-directory.js';
export type { Caller } from './org-access.js';
export type { RetentionPolicy } from './retention-policy.js';

/** Accepted, revoked and expired invitations stay this long for the organization's list, then go. */
const CLOSED_INVITATION_KEEP_DAYS = 30;

/**
 * Practices and care teams (`organizations`, `memberships`, `invitations`,
 * `care_relationships`): org roles under the ceiling and last-owner rules, invitations by
 * mail, and the care relationships through which alone a counselor reaches a client's sessions.
 */
export function createOrganizationsModule(
  infra: Pick<Infra, 'sequelize' | 'models' | 'mailer' | 'config'>,
  deps: { users: Pick<UsersModule, 'accounts'>; securityEvents: Pick<SecurityEventsModule, 'recorder' | 'forOrganization'> },
) {
  const { sequelize, models, config } = infra;
  const { accounts } = deps.users;
  const events = deps.securityEvents.recorder;
  const access = createOrgAccess(sequelize, models);
  const accessChanges = new AccessChanges();
  const care = createCareService({ sequelize, models, access, accounts, events, accessChanges });
  const retentionBounds = config.retention.organizationDays;
  const organizations = createOrganizationsService({ sequelize, models, access, care, accounts, events, accessChanges, retentionBounds });
  const invitations = createInvitationsService({
    sequelize, models, access, care, accounts, events, mailer: infra.mailer, appUrl: config.appUrl, ttlDays: config.tokens.invitationTtlDays, retentionBounds,
  });
  const data = createOrganizationData({ sequelize, models, access, care, events });
  const retention = createRetentionPolicy(models, config.retention);

  return {
    routes: organizationsRoutes({ organizations, retentionBounds, invitations, care, access, securityEvents: deps.securityEvents }),
    invitationRoutes: invitationRoutes(invitations),
    /** Whose reach changed (care ended, member removed, org role changed), after the change committed. */
    onAccessChange: accessChanges.listen.bind(accessChanges),
    /** Who counsels whom, and who runs which practice: read by sessions and dashboards. */
    care: createCareDirectory(models),
    /** For an organization's dashboard: its staff (or a platform admin) only; outsiders get 404. */
    requireStaff: (caller: Caller, organizationId: string) => access.require(caller, organizationId, STAFF_ROLES, { platformAdmin: true }),
    counts: data.counts,
    /** How long each organization's sessions' data is kept: read by the sessions module's retention. */
    retention,
    /** The files module points the logo at a registered file (`replacing`: only while it still shows that one). */
    async setLogoUrl(organizationId: string, logoUrl: string | null, options: { replacing?: string } = {}): Promise<void> {
      await models.Organization.update({ logoUrl }, { where: { id: organizationId, ...(options.replacing !== undefined && { logoUrl: options.replacing }) } });
    },
    /** The GDPR export and account deletion. */
    data: { exportFor: data.exportFor, assertMayLeave: data.assertMayLeave, releaseAccount: data.releaseAccount },
    retentionJobs: {
      'purge-invitations': tableJob('invitations', models.Invitation, (now) => {
        const cutoff = retentionCutoff(now, CLOSED_INVITATION_KEEP_DAYS);
        return { [Op.or]: [{ expiresAt: { [Op.lt]: cutoff } }, { acceptedAt: { [Op.lt]: cutoff } }, { revokedAt: { [Op.lt]: cutoff } }] };
      }),
    },
  };
}

export type OrganizationsModule = ReturnType<typeof createOrganizationsModule>;
