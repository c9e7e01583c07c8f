import { z } from 'zod';
import { singleLine } from '../../http/text-fields.js';
import { ROLES } from '../../models/user.model.js';

export const personName = singleLine(100);
export const emailField = z.string().trim().toLowerCase().pipe(z.email().max(254));

const httpsUrl = z
  .url({ protocol: /^https$/, hostname: z.regexes.domain })
  .max(2048);

export const updateProfileSchema = {
  body: z
    .strictObject({
      name: personName.optional(),
      avatarUrl: httpsUrl.nullable().optional(),
    })
    .refine((body) => Object.keys(body).length > 0, { message: 'send at least one of name, avatarUrl' }),
};

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

export const PREFERENCE_DEFAULTS = {
  language: 'en',
  theme: 'system' as const,
  timezone: 'UTC',
  notifications: { email: true, push: false, sessionReminders: true, weeklySummary: false },
};

/** The fixed preferences document: every key known, unknown keys rejected, omitted keys default. */
export const preferencesSchema = {
  body: z.strictObject({
    language: z.string().regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, 'a language tag such as en or pt-BR').default(PREFERENCE_DEFAULTS.language),
    theme: z.enum(['system', 'light', 'dark']).default(PREFERENCE_DEFAULTS.theme),
    timezone: z.string().max(64).refine(isTimeZone, 'an IANA time zone such as Europe/Berlin').default(PREFERENCE_DEFAULTS.timezone),
    notifications: z
      .strictObject({
        email: z.boolean().default(PREFERENCE_DEFAULTS.notifications.email),
        push: z.boolean().default(PREFERENCE_DEFAULTS.notifications.push),
        sessionReminders: z.boolean().default(PREFERENCE_DEFAULTS.notifications.sessionReminders),
        weeklySummary: z.boolean().default(PREFERENCE_DEFAULTS.notifications.weeklySummary),
      })
      .default(PREFERENCE_DEFAULTS.notifications),
  }),
};

export type ProfileUpdate = z.output<typeof updateProfileSchema.body>;
export type Preferences = z.output<typeof preferencesSchema.body>;

export const deleteAccountSchema = {
  /** Required when the account has a password; an account without one relies on the step-up alone. */
  body: z.strictObject({ password: z.string().min(1).max(1024).optional() }),
};

export const listUsersSchema = {
  query: z.strictObject({
    role: z.enum(ROLES).optional(),
    disabled: z.enum(['true', 'false']).transform((value) => value === 'true').optional(),
    email: singleLine(254).toLowerCase().optional(),
    limit: z.coerce.number().int().min(1).max(100).default(50),
    cursor: z.string().min(1).max(200).optional(),
  }),
};

export const updateAccessSchema = {
  params: z.strictObject({ id: z.uuid() }),
  body: z
    .strictObject({ role: z.enum(ROLES).optional(), disabled: z.boolean().optional() })
    .refine((body) => body.role !== undefined || body.disabled !== undefined, { message: 'send role and/or disabled' }),
};

export type ListUsersQuery = z.output<typeof listUsersSchema.query>;
export type AccessUpdate = z.output<typeof updateAccessSchema.body>;

// ---- responses ------------------------------------------------------------------------

export const publicUserResponse = z.strictObject({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  avatarUrl: z.string().nullable(),
  emailVerified: z.boolean(),
  createdAt: z.iso.datetime(),
});

const preferencesShape = preferencesSchema.body;
export const preferencesResponse = z.strictObject({
  language: z.string(),
  theme: preferencesShape.shape.theme.unwrap(),
  timezone: z.string(),
  notifications: z.strictObject({ email: z.boolean(), push: z.boolean(), sessionReminders: z.boolean(), weeklySummary: z.boolean() }),
});

export const adminUserResponse = publicUserResponse.extend({ disabled: z.boolean(), disabledAt: z.iso.datetime().nullable() });
