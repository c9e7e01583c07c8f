import type { z } from 'zod';
import type { CareRelationshipModel } from '../../models/care-relationship.model.js';
import type { InvitationModel } from '../../models/invitation.model.js';
import type { MembershipModel, OrgRole } from '../../models/membership.model.js';
import type { OrganizationModel } from '../../models/organization.model.js';
import type { careResponse, invitationResponse, memberResponse, organizationResponse } from './organizations.schemas.js';
import { overrideInForce, type RetentionBounds } from './retention-policy.js';

/** The retention shown is the one in force: the stored override held to the bounds configured now. */
export function organizationView(organization: OrganizationModel, role: OrgRole | null, retention: RetentionBounds): z.input<typeof organizationResponse> {
  return {
    id: organization.id,
    name: organization.name,
    slug: organization.slug,
    logoUrl: organization.logoUrl ?? null,
    sessionDataRetentionDays: overrideInForce(organization.sessionDataRetentionDays ?? null, retention),
    role,
    createdAt: organization.createdAt.toISOString(),
  };
}

export function memberView(membership: MembershipModel, person: { name: string; email: string } | undefined): z.input<typeof memberResponse> {
  return { userId: membership.userId, name: person?.name ?? '', email: person?.email ?? '', role: membership.role, joinedAt: membership.createdAt.toISOString() };
}

export function invitationStatus(invitation: InvitationModel, now = new Date()) {
  if (invitation.acceptedAt) return 'accepted' as const;
  if (invitation.revokedAt) return 'revoked' as const;
  return invitation.expiresAt.getTime() <= now.getTime() ? ('expired' as const) : ('pending' as const);
}

export function invitationView(invitation: InvitationModel): z.input<typeof invitationResponse> {
  return {
    id: invitation.id,
    organizationId: invitation.organizationId,
    email: invitation.email,
    role: invitation.role,
    counselorId: invitation.counselorId,
    invitedBy: invitation.invitedBy,
    status: invitationStatus(invitation),
    createdAt: invitation.createdAt.toISOString(),
    expiresAt: invitation.expiresAt.toISOString(),
    acceptedAt: invitation.acceptedAt?.toISOString() ?? null,
    revokedAt: invitation.revokedAt?.toISOString() ?? null,
  };
}

export function careView(care: CareRelationshipModel): z.input<typeof careResponse> {
  return {
    id: care.id,
    organizationId: care.organizationId,
    counselorId: care.counselorId,
    clientId: care.clientId,
    status: care.endedAt ? 'ended' : 'active',
    startedAt: care.startedAt.toISOString(),
    endedAt: care.endedAt?.toISOString() ?? null,
  };
}
