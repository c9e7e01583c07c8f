import { z } from 'zod';

/**
 * Free text as the API accepts it: trimmed, bounded, and without control characters (a NUL
 * cuts SQLite statements short and is mangled by PostgreSQL; line breaks in a name would
 * shape the text of our mails). Multi-line text keeps tabs and line breaks.
 */
export function singleLine(max: number) {
  return z.string().trim().min(1).max(max).regex(/^[^\p{Cc}]*$/u, 'must not contain control characters or line breaks');
}

export function multiLine(max: number, min = 1) {
  return z
    .string()
    .trim()
    .min(min)
    .max(max)
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    .regex(/^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$/, 'must not contain control characters');
}

/** The token of a mailed link (verification, reset, invitation): 256 bits in base64url. */
export const linkToken = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'the token from the link');
