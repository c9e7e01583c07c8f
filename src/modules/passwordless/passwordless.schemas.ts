import { z } from 'zod';
import { linkToken } from '../../http/text-fields.js';
import { emailField, personName } from '../users/index.js';

const transport = z.enum(['cookie', 'body']).default('cookie');

export const magicLinkRequestSchema = {
  body: z.strictObject({
    email: emailField,
    /** Only used when the link creates the account (MAGIC_LINK_SIGNUP); else the part before the @. */
    name: personName.optional(),
    rememberMe: z.boolean().default(false),
    /** Where the session's refresh token will travel when the link is followed: chosen now, kept with the link. */
    transport,
  }),
};

export const magicLinkVerifySchema = { body: z.strictObject({ token: linkToken }) };

export const addPasswordSchema = { body: z.strictObject({ password: z.string().min(1).max(1024) }) };

export const magicLinkAccepted = z.strictObject({ status: z.literal('accepted'), message: z.string() });
export const passwordAddedResponse = z.strictObject({ status: z.literal('password_added'), message: z.string() });
