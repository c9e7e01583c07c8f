import { z } from 'zod';
import { SECURITY_EVENT_TYPES } from '../../models/security-event.model.js';

const limit = z.coerce.number().int().min(1).max(100).default(50);

export const ownEventsSchema = {
  query: z.strictObject({ limit }),
};

export const adminEventsSchema = {
  query: z.strictObject({
    type: z.enum(SECURITY_EVENT_TYPES).optional(),
    userId: z.uuid().optional(),
    ip: z.union([z.ipv4(), z.ipv6()]).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    limit,
  }),
};

export type AdminEventsQuery = z.output<typeof adminEventsSchema.query>;

/** An organization's own events, for its owners and admins. */
export const organizationEventsQuery = z.strictObject({
  type: z.enum(SECURITY_EVENT_TYPES).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  limit,
});

export type OrganizationEventsQuery = z.output<typeof organizationEventsQuery>;

export const securityEventResponse = z.strictObject({
  id: z.uuid(),
  type: z.enum(SECURITY_EVENT_TYPES),
  userId: z.uuid().nullable(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: z.iso.datetime(),
});

export const eventListResponse = z.strictObject({ items: z.array(securityEventResponse) });

export const suspiciousResponse = z.strictObject({
  items: z.array(z.strictObject({ ip: z.string(), failures: z.number().int(), lastAt: z.iso.datetime() })),
});
