import { z } from 'zod';
import { route, type RouteDefinition } from '../../http/route.js';
import { eventListResponse, organizationEventsQuery, type SecurityEventsModule } from '../security-events/index.js';
import type { CareService } from './care.service.js';
import type { InvitationsService } from './invitations.service.js';
import type { OrgAccess } from './org-access.js';
import { ADMIN_ROLES } from './org-roles.js';
import {
  acceptInvitationSchema,
  acceptResponse,
  careResponse,
  careSchema,
  createCareSchema,
  createInvitationSchema,
  createOrganizationSchema,
  invitationResponse,
  invitationSchema,
  listCareSchema,
  listInvitationsSchema,
  listMembersSchema,
  listOrganizationsSchema,
  memberResponse,
  memberSchema,
  organizationIdSchema,
  organizationResponse,
  pageOf,
  updateMemberSchema,
  updateOrganizationSchema,
} from './organizations.schemas.js';
import type { OrganizationsService } from './organizations.service.js';
import type { RetentionBounds } from './retention-policy.js';

interface Services {
  organizations: OrganizationsService;
  /** What an organization may set as its retention: the PATCH schema is built from it. */
  retentionBounds: RetentionBounds;
  invitations: InvitationsService;
  care: CareService;
  access: OrgAccess;
  securityEvents: Pick<SecurityEventsModule, 'forOrganization'>;
}

const organization = { status: 200, description: 'The organization, with the caller’s role in it', schema: organizationResponse };
const page = (item: z.ZodType) => ({ status: 200, description: '{ items, nextCursor }', schema: pageOf(item) });
const done = (description: string) => ({ status: 204, description });

/**
 * `/api/organizations`: every route needs a caller; which org role may do what is the
 * services' rule (org-roles.ts). Outsiders get 404 for everything under an organization.
 */
export function organizationsRoutes({ organizations, retentionBounds, invitations, care, access, securityEvents }: Services): RouteDefinition[] {
  return [
    route(
      { method: 'POST', path: '/', access: 'authenticated', summary: 'Create an organization (the caller becomes its owner)', request: createOrganizationSchema, response: { ...organization, status: 201 } },
      ({ actor, input, meta }) => organizations.create(actor, input.body, meta),
    ),
    route(
      { method: 'GET', path: '/', access: 'authenticated', summary: 'The caller’s organizations (platform admins: all)', request: listOrganizationsSchema, response: page(organizationResponse) },
      ({ actor, input }) => organizations.list(actor, input.query),
    ),
    route({ method: 'GET', path: '/:id', access: 'authenticated', summary: 'Get an organization', request: organizationIdSchema, response: organization }, ({ actor, input }) =>
      organizations.get(actor, input.params.id),
    ),
    route(
      {
        method: 'PATCH', path: '/:id', access: 'authenticated', summary: 'Rename an organization, change its slug or its retention of session data (owner, admin)',
        request: updateOrganizationSchema(retentionBounds), response: organization,
      },
      ({ actor, input, meta }) => organizations.update(actor, input.params.id, input.body, meta),
    ),
    route(
      { method: 'DELETE', path: '/:id', access: 'authenticated', summary: 'Delete an organization without clients or sessions (owner)', request: organizationIdSchema, response: done('Deleted') },
      ({ actor, input, meta }) => organizations.remove(actor, input.params.id, meta),
    ),

    route(
      { method: 'GET', path: '/:id/members', access: 'authenticated', summary: 'Members (owner, admin, manager)', request: listMembersSchema, response: page(memberResponse) },
      ({ actor, input }) => organizations.members(actor, input.params.id, input.query),
    ),
    route(
      { method: 'PATCH', path: '/:id/members/:userId', access: 'authenticated', summary: 'Change a member’s role, within the caller’s own', request: updateMemberSchema, response: { status: 200, description: 'The member', schema: memberResponse } },
      ({ actor, input, meta }) => organizations.changeRole(actor, input.params.id, input.params.userId, input.body.role, meta),
    ),
    route(
      { method: 'DELETE', path: '/:id/members/:userId', access: 'authenticated', summary: 'Remove a member, or leave', request: memberSchema, response: done('Removed') },
      ({ actor, input, meta }) => organizations.removeMember(actor, input.params.id, input.params.userId, meta),
    ),

    route(
      {
        method: 'POST', path: '/:id/invitations', access: 'authenticated', rateLimit: 'auth', summary: 'Invite an email address with a role (counselors: clients into their care)',
        description: 'The answer is the same whether or not the address has an account; the link is mailed to it.',
        request: createInvitationSchema, response: { status: 201, description: 'The invitation', schema: invitationResponse },
      },
      ({ actor, input, meta }) => invitations.create(actor, input.params.id, input.body, meta),
    ),
    route(
      { method: 'GET', path: '/:id/invitations', access: 'authenticated', summary: 'Invitations (staff: all; counselors: their own)', request: listInvitationsSchema, response: page(invitationResponse) },
      ({ actor, input }) => invitations.list(actor, input.params.id, input.query),
    ),
    route(
      { method: 'DELETE', path: '/:id/invitations/:invitationId', access: 'authenticated', summary: 'Revoke a pending invitation', request: invitationSchema, response: done('Revoked') },
      ({ actor, input }) => invitations.revoke(actor, input.params.id, input.params.invitationId),
    ),

    route(
      { method: 'POST', path: '/:id/care', access: 'authenticated', summary: 'Start a care relationship (owner, admin, manager)', request: createCareSchema, response: { status: 201, description: 'The relationship', schema: careResponse } },
      ({ actor, input, meta }) => care.start(actor, input.params.id, input.body, meta),
    ),
    route(
      { method: 'GET', path: '/:id/care', access: 'authenticated', summary: 'Care relationships (staff: all; counselors and clients: their own)', request: listCareSchema, response: page(careResponse) },
      ({ actor, input }) => care.list(actor, input.params.id, input.query),
    ),
    route(
      { method: 'DELETE', path: '/:id/care/:careId', access: 'authenticated', summary: 'End a care relationship (either side, or staff)', request: careSchema, response: done('Ended') },
      ({ actor, input, meta }) => care.end(actor, input.params.id, input.params.careId, meta),
    ),

    route(
      {
        method: 'GET', path: '/:id/security-events', access: 'authenticated', summary: 'The organization’s security events (owner, admin)',
        request: { params: organizationIdSchema.params, query: organizationEventsQuery }, response: { status: 200, description: '{ items }', schema: eventListResponse },
      },
      async ({ actor, input }) => {
        await access.require(actor, input.params.id, ADMIN_ROLES);
        return { items: await securityEvents.forOrganization(input.params.id, input.query) };
      },
    ),
  ];
}

/** `/api/invitations`: accepting one, signed in with the invited address. */
export function invitationRoutes(invitations: InvitationsService): RouteDefinition[] {
  return [
    route(
      { method: 'POST', path: '/accept', access: 'authenticated', rateLimit: 'auth', summary: 'Accept an invitation', request: acceptInvitationSchema, response: { status: 200, description: 'The organization joined, and the care relationship the invitation started', schema: acceptResponse } },
      ({ actor, input, meta }) => invitations.accept(actor, input.body.token, meta),
    ),
  ];
}
