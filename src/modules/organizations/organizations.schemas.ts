import { z } from 'zod';
import { pageOf } from '../../http/cursor.js';
import { linkToken, singleLine } from '../../http/text-fields.js';
import { ORG_ROLES } from '../../models/membership.model.js';
import { emailField } from '../users/index.js';
import type { RetentionBounds } from './retention-policy.js';

export { pageOf };

const id = z.uuid();
const limit = z.coerce.number().int().min(1).max(100).default(50);
const cursor = z.string().min(1).max(200).optional();
const isoTime = z.iso.datetime();
const orgRole = z.enum(ORG_ROLES);

export const organizationName = singleLine(100);
export const slugField = z.string().regex(/^[a-z0-9-]{1,50}$/, 'lower-case letters, digits and hyphens, at most 50');

const organizationParams = z.strictObject({ id });
export const organizationIdSchema = { params: organizationParams };

export const createOrganizationSchema = { body: z.strictObject({ name: organizationName, slug: slugField }) };
export const listOrganizationsSchema = { query: z.strictObject({ limit, cursor }) };
/** The bounds of an organization's retention are configuration, so this schema is built from them (and documents them). */
export function updateOrganizationSchema(retention: RetentionBounds) {
  return {
    params: organizationParams,
    body: z
      .strictObject({
        name: organizationName.optional(),
        slug: slugField.optional(),
        sessionDataRetentionDays: z
          .number()
          .int()
          .min(retention.min)
          .max(retention.max)
          .nullable()
          .optional()
          .describe(`days the entries and attachments of the organization's ended sessions are kept (${retention.min} to ${retention.max}); null returns to the platform's retention`),
      })
      .refine((body) => body.name !== undefined || body.slug !== undefined || body.sessionDataRetentionDays !== undefined, { message: 'send name, slug and/or sessionDataRetentionDays' }),
  };
}

const memberParams = z.strictObject({ id, userId: id });
export const listMembersSchema = { params: organizationParams, query: z.strictObject({ role: orgRole.optional(), limit, cursor }) };
export const memberSchema = { params: memberParams };
export const updateMemberSchema = { params: memberParams, body: z.strictObject({ role: orgRole }) };

export const createInvitationSchema = {
  params: organizationParams,
  body: z
    .strictObject({ email: emailField, role: orgRole, counselorId: id.optional() })
    .refine((body) => body.counselorId === undefined || body.role === 'client', { message: 'counselorId invites a client into that counselor’s care', path: ['counselorId'] }),
};
export const listInvitationsSchema = { params: organizationParams, query: z.strictObject({ status: z.enum(['pending', 'all']).default('pending'), limit, cursor }) };
export const invitationSchema = { params: z.strictObject({ id, invitationId: id }) };
export const acceptInvitationSchema = { body: z.strictObject({ token: linkToken }) };

export const createCareSchema = { params: organizationParams, body: z.strictObject({ counselorId: id, clientId: id }) };
export const listCareSchema = { params: organizationParams, query: z.strictObject({ status: z.enum(['active', 'ended', 'all']).default('active'), limit, cursor }) };
export const careSchema = { params: z.strictObject({ id, careId: id }) };

export type CreateOrganizationInput = z.output<typeof createOrganizationSchema.body>;
export type UpdateOrganizationInput = z.output<ReturnType<typeof updateOrganizationSchema>['body']>;
export type CreateInvitationInput = z.output<typeof createInvitationSchema.body>;
export type ListQuery = { limit: number; cursor?: string };

// ---- responses ------------------------------------------------------------------------

export const organizationResponse = z.strictObject({
  id,
  name: z.string(),
  slug: z.string(),
  /** GET it (signed in) for a short-lived URL of the logo; null without one. */
  logoUrl: z.string().nullable(),
  sessionDataRetentionDays: z
    .number()
    .int()
    .nullable()
    .describe("the organization's own retention of its ended sessions' entries and attachments, in days; null: the platform's"),
  /** The caller's role in it; null for a platform admin who is not a member. */
  role: orgRole.nullable(),
  createdAt: isoTime,
});

export const memberResponse = z.strictObject({ userId: id, name: z.string(), email: z.string(), role: orgRole, joinedAt: isoTime });

export const invitationResponse = z.strictObject({
  id,
  organizationId: id,
  email: z.string(),
  role: orgRole,
  counselorId: id.nullable(),
  invitedBy: id.nullable(),
  status: z.enum(['pending', 'accepted', 'revoked', 'expired']),
  createdAt: isoTime,
  expiresAt: isoTime,
  acceptedAt: isoTime.nullable(),
  revokedAt: isoTime.nullable(),
});

export const careResponse = z.strictObject({
  id,
  organizationId: id,
  counselorId: id.nullable(),
  clientId: id,
  status: z.enum(['active', 'ended']),
  startedAt: isoTime,
  endedAt: isoTime.nullable(),
});

export const acceptResponse = z.strictObject({ organization: organizationResponse, care: careResponse.nullable() });

/** What the GDPR export holds of a person's organizations: nobody else's address or name. */
export const organizationDataResponse = z.strictObject({
  memberships: z.array(z.strictObject({ organizationId: id, name: z.string(), slug: z.string(), role: orgRole, joinedAt: isoTime })),
  careRelationships: z.array(careResponse.extend({ as: z.enum(['client', 'counselor']) })),
  invitations: z.strictObject({
    received: z.array(invitationResponse.omit({ email: true, invitedBy: true })),
    sentCount: z.number().int(),
  }),
});
