import { z } from 'zod';
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
