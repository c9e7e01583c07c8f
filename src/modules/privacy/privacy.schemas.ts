import { z } from 'zod';
import { DATA_EXPORT_STATUSES } from '../../models/data-export.model.js';
import { loginSessionResponse } from '../auth/index.js';
import { consentExport } from '../consent/index.js';
import { fileResponse } from '../files/index.js';
import { secondFactorsExport } from '../mfa/index.js';
import { organizationDataResponse } from '../organizations/index.js';
import { identitiesResponse } from '../passwordless/index.js';
import { eventListResponse, ownEventsSchema } from '../security-events/index.js';
import { exportedSessionResponse } from '../sessions/index.js';
import { deleteAccountSchema, preferencesResponse, publicUserResponse } from '../users/index.js';

export { deleteAccountSchema, eventListResponse, ownEventsSchema };

const isoTime = z.iso.datetime();

export const exportResponse = z.strictObject({
  format: z.literal('confidant-export'),
  version: z.number().int(),
  exportedAt: isoTime,
  profile: publicUserResponse,
  preferences: preferencesResponse,
  loginSessions: z.array(loginSessionResponse.extend({ revokedAt: isoTime.nullable() })),
  secondFactors: secondFactorsExport,
  /** The OpenID provider identities that sign in to the account. */
  identities: identitiesResponse.shape.items,
  counselingSessions: z.array(exportedSessionResponse),
  /** What the person uploaded and the attachments of their sessions: metadata and the API path of the bytes. */
  files: z.array(fileResponse),
  counseledSessions: z.strictObject({ count: z.number().int() }).optional(),
  organizations: organizationDataResponse,
  consents: consentExport,
  securityEvents: eventListResponse.shape.items,
});

export const exportIdSchema = { params: z.strictObject({ id: z.uuid() }) };

export const exportDownloadSchema = {
  params: z.strictObject({ id: z.uuid() }),
  query: z.strictObject({ token: z.string().regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/).max(2048) }),
};

export const exportJobResponse = z.strictObject({
  id: z.uuid(),
  status: z.enum(DATA_EXPORT_STATUSES),
  createdAt: isoTime,
  startedAt: isoTime.nullable(),
  completedAt: isoTime.nullable(),
  downloadedAt: isoTime.nullable(),
  /** The row and its archive are deleted then, downloaded or not. */
  expiresAt: isoTime,
  /** Bytes of the zip, once it is ready. */
  size: z.number().int().nullable(),
  /** While ready: a link that works once, for five minutes; every status read signs a fresh one. */
  download: z.strictObject({ url: z.url(), expiresAt: isoTime }).nullable(),
});
