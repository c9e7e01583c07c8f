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

// ---- OpenID Connect ---------------------------------------------------------------------

const flag = z.enum(['true', 'false']).transform((value) => value === 'true');

export const providerParams = z.strictObject({ provider: z.string().regex(/^[a-z0-9-]{1,32}$/, 'a provider id') });

export const oidcStartSchema = {
  params: providerParams,
  query: z.strictObject({
    transport: z.enum(['cookie', 'body']).default('cookie'),
    rememberMe: flag.default(false),
    /** The SPA page that receives the one-time code (in its fragment); on an allowed origin, APP_URL/oidc/callback by default. */
    returnTo: z.string().max(2048).optional(),
  }),
};

export const oidcLinkSchema = {
  params: providerParams,
  body: z.strictObject({ returnTo: z.string().max(2048).optional() }),
};

const providerValue = z.string().max(2048).optional();
export const oidcCallbackSchema = {
  params: providerParams,
  // What providers send back varies (Google adds scope, authuser, hd…): the known fields are checked, the rest ignored.
  query: z.looseObject({ code: providerValue, state: providerValue, iss: providerValue, error: providerValue, error_description: providerValue }),
};

export const oidcExchangeSchema = { body: z.strictObject({ code: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'the code from the callback URL') }) };

export const identityIdSchema = { params: z.strictObject({ id: z.uuid() }) };

export const providersResponse = z.strictObject({ items: z.array(z.strictObject({ id: z.string(), name: z.string(), available: z.boolean() })) });
export const linkStartResponse = z.strictObject({ url: z.url() });
export const linkedResponse = z.strictObject({ linked: z.strictObject({ provider: z.string(), email: z.string().nullable() }) });

export const identitiesResponse = z.strictObject({
  /** Whether the account has a password (an account made by a magic link or a provider has none until it adds one). */
  password: z.boolean(),
  items: z.array(
    z.strictObject({
      id: z.uuid(),
      provider: z.string(),
      issuer: z.string(),
      subject: z.string(),
      email: z.string().nullable(),
      createdAt: z.iso.datetime(),
      lastUsedAt: z.iso.datetime().nullable(),
    }),
  ),
});
