import { z } from 'zod';
import { singleLine } from '../../lib/text-fields.js';
import { ROLES } from '../../models/user.model.js';

export const listUsersSchema = {
  query: z.strictObject({
    role: z.enum(ROLES).optional(),
    disabled: z.enum(['true', 'false']).transform((value) => value === 'true').optional(),
    email: singleLine(254).toLowerCase().optional(),
    limit: z.coerce.number().int().min(1).max(100).default(50),
    cursor: z.string().min(1).max(200).optional(),
  }),
};

export const updateUserSchema = {
  params: z.strictObject({ id: z.uuid() }),
  body: z
    .strictObject({ role: z.enum(ROLES).optional(), disabled: z.boolean().optional() })
    .refine((body) => body.role !== undefined || body.disabled !== undefined, { message: 'send role and/or disabled' }),
};

export type ListUsersQuery = z.output<typeof listUsersSchema.query>;
export type UserUpdate = z.output<typeof updateUserSchema.body>;
