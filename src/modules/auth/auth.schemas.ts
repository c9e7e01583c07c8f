import { z } from 'zod';
import { linkToken } from '../../http/text-fields.js';
import { emailField, personName, publicUserResponse } from '../users/index.js';
/** Length and strength are the password policy's job (it needs the email and name); this only bounds the input. */
const passwordInput = z.string().min(1).max(1024);
const refreshTokenField = z.string().min(1).max(256);

export const registerSchema = {
  body: z.strictObject({
    email: emailField,
    password: passwordInput,
    name: personName,
  }),
};

export const loginSchema = {
  body: z.strictObject({
    email: emailField,
    password: passwordInput,
    rememberMe: z.boolean().default(false),
    transport: z.enum(['cookie', 'body']).default('cookie'),
  }),
};

/** Native apps send the token in the body; browsers send nothing and rely on the cookie. */
export const refreshSchema = {
  body: z.strictObject({ refreshToken: refreshTokenField.optional() }),
};

export const logoutSchema = refreshSchema;

export const sessionIdSchema = {
  params: z.strictObject({ id: z.uuid() }),
};

export type RegisterInput = z.output<typeof registerSchema.body>;
export type LoginInput = z.output<typeof loginSchema.body>;

const oneTimeToken = linkToken;

export const verifyEmailSchema = { body: z.strictObject({ token: oneTimeToken }) };

export const emailOnlySchema = { body: z.strictObject({ email: emailField }) };

export const resetPasswordSchema = { body: z.strictObject({ token: oneTimeToken, password: passwordInput }) };

export const changePasswordSchema = {
  body: z.strictObject({ currentPassword: passwordInput, newPassword: passwordInput }),
};

// ---- responses ------------------------------------------------------------------------

const isoTime = z.iso.datetime();

const issued = {
  accessToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int(),
  user: publicUserResponse,
  session: z.strictObject({ id: z.uuid(), expiresAt: isoTime, rememberMe: z.boolean() }),
};

/** A sign-in or refresh: the refresh token in the body (native apps) or a CSRF token for the cookie (browsers). */
export const tokenResponse = z.union([
  z.strictObject({ ...issued, refreshToken: z.string() }),
  z.strictObject({ ...issued, csrfToken: z.string() }),
]);

export const acceptedResponse = z.strictObject({ status: z.literal('accepted'), message: z.string() });
export const statusResponse = z.strictObject({ status: z.string(), message: z.string().optional() });

/** A login session as its owner sees it (the session list; the GDPR export adds when it was revoked). */
export const loginSessionResponse = z.strictObject({
  id: z.uuid(),
  userAgent: z.string().nullable(),
  ip: z.string().nullable(),
  rememberMe: z.boolean(),
  createdAt: isoTime,
  lastUsedAt: isoTime,
  expiresAt: isoTime,
});

export const loginSessionsResponse = z.strictObject({ items: z.array(loginSessionResponse.extend({ current: z.boolean() })) });

export const jwksResponse = z.strictObject({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string() })) });
