import { z } from 'zod';

/** Six digits, as authenticator apps show them (spaces people type in the middle are dropped). */
export const totpCode = z
  .string()
  .max(16)
  .transform((value) => value.replace(/\s/g, ''))
  .pipe(z.string().regex(/^\d{6}$/, 'the 6-digit code from the authenticator app'));

/** As printed (`xxxx-xxxx-xxxx`); case, spaces and dashes do not matter. */
export const recoveryCode = z.string().max(32).regex(/^[A-Za-z0-9\s-]+$/, 'a recovery code such as 7k2m-9xq4-h3rt');

export const confirmTotpSchema = { body: z.strictObject({ code: totpCode }) };

// ---- responses ------------------------------------------------------------------------

export const totpSetupResponse = z.strictObject({
  /** Base32, for typing into an app by hand. */
  secret: z.string().regex(/^[A-Z2-7]+$/),
  otpauthUrl: z.string().startsWith('otpauth://totp/'),
  /** The otpauth URL as a QR code: an SVG data URL for an <img>. */
  qr: z.string().startsWith('data:image/svg+xml;base64,'),
});

export const recoveryCodesResponse = z.strictObject({ recoveryCodes: z.array(z.string().regex(/^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/)).length(10) });

export const mfaStatusResponse = z.strictObject({
  /** Whether the caller's role must sign in with a second factor (MFA_REQUIRED_ROLES). */
  required: z.boolean(),
  totp: z.strictObject({ enabled: z.boolean(), confirmedAt: z.iso.datetime().nullable() }),
  passkeys: z.number().int(),
  recoveryCodesRemaining: z.number().int(),
});

const isoTime = z.iso.datetime();

/** The second factors in the GDPR export. */
export const secondFactorsExport = z.strictObject({
  totp: z.strictObject({ confirmedAt: isoTime.nullable(), lastUsedAt: isoTime.nullable(), createdAt: isoTime }).nullable(),
  passkeys: z.array(z.strictObject({ name: z.string(), deviceType: z.string(), backedUp: z.boolean(), createdAt: isoTime, lastUsedAt: isoTime.nullable() })),
  recoveryCodes: z.strictObject({ total: z.number().int(), remaining: z.number().int() }),
});

/** An admin's reset of a person's second factors: a reason is required, and it is shown to the person. */
export const resetFactorsSchema = {
  params: z.strictObject({ id: z.uuid() }),
  body: z.strictObject({ reason: z.string().trim().min(10, 'say why, in at least 10 characters').max(500).regex(/^[^\p{Cc}]*$/u, 'must not contain control characters or line breaks') }),
};

export const resetFactorsResponse = z.strictObject({
  removed: z.strictObject({ totp: z.boolean(), passkeys: z.number().int(), recoveryCodes: z.number().int() }),
  endedSessions: z.number().int(),
});
