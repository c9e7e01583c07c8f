import { z } from 'zod';
import { singleLine } from '../../lib/text-fields.js';

export const personName = singleLine(100);

export const emailField = z.string().trim().toLowerCase().pipe(z.email().max(254));
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

const oneTimeToken = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'the token from the link');

export const verifyEmailSchema = { body: z.strictObject({ token: oneTimeToken }) };

export const emailOnlySchema = { body: z.strictObject({ email: emailField }) };

export const resetPasswordSchema = { body: z.strictObject({ token: oneTimeToken, password: passwordInput }) };

export const changePasswordSchema = {
  body: z.strictObject({ currentPassword: passwordInput, newPassword: passwordInput }),
};
