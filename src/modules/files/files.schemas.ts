import { z } from 'zod';
import { FILE_PURPOSES } from '../../models/stored-file.model.js';

export const presignSchema = {
  body: z.strictObject({
    target: z.enum(['avatar', 'orgLogo']),
    organizationId: z.uuid().optional(),
    contentType: z.string().min(1).max(100),
    size: z.number().int().min(1).max(1_073_741_824),
    filename: z.string().min(1).max(255).optional(),
  }),
};
export type PresignInput = z.output<typeof presignSchema.body>;

/** Only the exact key format is looked up at all; anything else is refused before the database. */
export const registerSchema = { body: z.strictObject({ storageKey: z.string().min(1).max(200) }) };
export const fileIdSchema = { params: z.strictObject({ fileId: z.uuid() }) };
export const sessionAttachmentsSchema = { params: z.strictObject({ id: z.uuid() }) };
/** The local adapter's signed GET token: base64url, one dot. */
export const localObjectSchema = { params: z.strictObject({ token: z.string().regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/).max(2048) }) };

export const fileResponse = z.strictObject({
  id: z.uuid(),
  purpose: z.enum(FILE_PURPOSES),
  status: z.enum(['pending', 'ready']),
  contentType: z.string(),
  size: z.number().int().min(0),
  /** The original name of an attachment, for those who may read the session's content; null otherwise. */
  filename: z.string().nullable(),
  /** Present (and `filename` null) when the data key of the session's client was destroyed: the attachment is erased for good. */
  erased: z.literal(true).optional().describe('the attachment was erased (its data key destroyed); the name is null and the bytes answer 410'),
  sessionId: z.uuid().nullable(),
  organizationId: z.uuid().nullable(),
  uploadedBy: z.uuid().nullable(),
  createdAt: z.iso.datetime(),
  /** GET this (with the bearer token) for the bytes. */
  downloadPath: z.string(),
});

export const fileWithUrlResponse = fileResponse.extend({
  /** A registered image: a signed URL valid for urlExpiresIn seconds; null for attachments. */
  url: z.string().nullable(),
  urlExpiresIn: z.number().int().nullable(),
});

export const presignResponse = z.strictObject({
  fileId: z.uuid(),
  storageKey: z.string(),
  upload: z.strictObject({ method: z.literal('POST'), url: z.string(), fields: z.record(z.string(), z.string()) }),
  expiresIn: z.number().int(),
});

export const attachmentListResponse = z.strictObject({ items: z.array(fileResponse) });
