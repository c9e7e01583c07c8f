import { z } from 'zod';
import { CONSENT_DOCUMENT_NAMES } from '../../config/env.js';

const document = z.enum(CONSENT_DOCUMENT_NAMES);
const version = z.string().regex(/^[A-Za-z0-9._-]{1,32}$/, '1-32 letters, digits, dots, dashes or underscores');
const isoTime = z.iso.datetime();

/** An acceptance of one document's version, as registration and POST /me/consents take it. */
export const consentInput = z.strictObject({ document, version });
export type ConsentInput = z.output<typeof consentInput>;

export const giveConsentSchema = { body: consentInput };
export const documentParamSchema = { params: z.strictObject({ document }) };

const record = z.strictObject({ document, version, action: z.enum(['given', 'withdrawn']), at: isoTime });

/** Each configured document with its current version and where the caller stands, and the history. */
export const consentsResponse = z.strictObject({
  documents: z.array(
    z.strictObject({
      document,
      currentVersion: version,
      /** given: the current version is accepted; outdated: an older one; withdrawn; none: never given. */
      state: z.enum(['given', 'outdated', 'withdrawn', 'none']),
      acceptedVersion: version.nullable(),
      at: isoTime.nullable(),
    }),
  ),
  /** What must be accepted before anything else can be used (403 CONSENT_REQUIRED). */
  outstanding: z.array(z.strictObject({ document, version })),
  history: z.array(record),
});

/** For the GDPR export: every acceptance and withdrawal. */
export const consentExport = z.array(record);
