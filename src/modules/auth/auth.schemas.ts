import { z } from 'zod';
import { CONSENT_DOCUMENT_NAMES } from '../../config/env.js';
import { consentInput } from '../consent/index.js';
import { linkToken } from '../../http/text-fields.js';
import { authenticationResponse, recoveryCode, totpCode } from '../mfa/index.js';
import { emailField, personName, publicUserResponse } from '../users/index.js';
/** Length and strength are the password policy's job (it needs the email and name); this only bounds the input. */
const passwordInput = z.string().min(1).max(1024);
const refreshTokenField = z.string().min(1).max(256);

export const registerSchema = {
  body: z.strictObject({
    email: emailField,
    password: passwordInput,
    name: personName,
    /** The documents in force (CONSENT_DOCUMENTS), each at its current version; none when none is configured. */
    consents: z.array(consentInput).max(CONSENT_DOCUMENT_NAMES.length).default([]),
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

/** The token of a sign-in waiting for its second factor, as login answered it. */
const challengeToken = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'the challenge from the login answer');

export const mfaVerifySchema = {
  body: z
    .strictObject({ challenge: challengeToken, code: totpCode.optional(), recoveryCode: recoveryCode.optional() })
    .refine((body) => (body.code === undefined) !== (body.recoveryCode === undefined), { message: 'send either code or recoveryCode' }),
};

/** One proof of who the caller is: the password, a current authenticator code, or a passkey assertion. */
export const reauthenticateSchema = {
  body: z.union([z.strictObject({ password: passwordInput }), z.strictObject({ code: totpCode }), z.strictObject({ passkey: authenticationResponse })]),
};

export const passkeyLoginSchema = {
  body: z.strictObject({
    response: authenticationResponse,
    rememberMe: z.boolean().default(false),
    transport: z.enum(['cookie', 'body']).default('cookie'),
  }),
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
  /** The role requires a second factor and the account has none: this session may only enrol one (then refresh). */
  mfaEnrolmentRequired: z.literal(true).optional(),
};

/** A sign-in or refresh: the refresh token in the body (native apps) or a CSRF token for the cookie (browsers). */
export const tokenResponse = z.union([
  z.strictObject({ ...issued, refreshToken: z.string() }),
  z.strictObject({ ...issued, csrfToken: z.string() }),
]);

/** A right password of an account with a second factor: no session yet, a challenge for POST /mfa/verify. */
export const mfaChallengeResponse = z.strictObject({
  mfaRequired: z.literal(true),
  challenge: z.string(),
  /** `totp`, `passkey` (sign in with POST /passkeys/login/...), `recovery_code`. */
  methods: z.array(z.enum(['totp', 'passkey', 'recovery_code'])).min(1),
});

export const loginResponse = z.union([tokenResponse, mfaChallengeResponse]);

export const reauthenticatedResponse = z.strictObject({ authenticatedAt: isoTime, validUntil: isoTime });

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
