import type { Sequelize } from 'sequelize';
import type { ContentCipher } from '../../crypto/content-cipher.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { Actor } from '../../http/route.js';
import type { Models } from '../../models/index.js';
import type { SessionsModule } from '../sessions/index.js';
import { attachmentExtension, sniff, SNIFF_BYTES } from './content-types.js';
import { putEncrypted } from './encrypted-objects.js';
import { newFileKey } from './file-crypto.js';
import { keyPrefixes, newStorageKey } from './file-keys.js';
import { fileContext, fileView, fileViews } from './file-views.js';
import type { FilePart } from './multipart.js';
import type { ObjectStorage } from './storage/port.js';
import { peek } from './streams.js';

export interface AttachmentsDeps {
  sequelize: Sequelize;
  models: Pick<Models, 'StoredFile'>;
  content: ContentCipher;
  storage: ObjectStorage;
  limits: { attachmentMaxBytes: number; quotaBytes: number };
  sessions: Pick<SessionsModule, 'attachmentAccess'>;
  /** Bytes the person already uses (ready files and pending uploads). */
  usedBy: (userId: string) => Promise<number>;
}

const quotaExceeded = (quota: number) =>
  new AppError(413, 'FILE_QUOTA_EXCEEDED', 'Storage quota exceeded', { detail: `Your files may take at most ${Math.round(quota / 1_048_576)} MB; delete some first.` });

/**
 * Counseling attachments: uploaded through the API, checked by their bytes, encrypted with a
 * key of their own before they reach storage, and read on the sessions module's need-to-know
 * terms. The file key and the name are sealed under the data key of the session's client,
 * so destroying that key (account deletion) erases the attachment in every backup too.
 */
export function createAttachmentsService(deps: AttachmentsDeps) {
  const { models, content, storage, limits } = deps;

  return {
    async upload(actor: Actor, sessionId: string, readPart: (maxBytes: number) => Promise<FilePart>, meta: Partial<RequestMeta>) {
      const access = await deps.sessions.attachmentAccess(actor, sessionId, meta, { reading: false });
      if (!access.mayWrite) throw AppError.forbidden('FORBIDDEN', 'Only the client and their counselor add attachments.');
      await access.assertMayStore();
      const used = await deps.usedBy(actor.userId);
      if (used >= limits.quotaBytes) throw quotaExceeded(limits.quotaBytes);

      const part = await readPart(limits.attachmentMaxBytes);
      const { head, whole } = await peek(part.stream, SNIFF_BYTES);
      const contentType = await sniff(head);
      if (!contentType || !attachmentExtension(contentType)) {
        whole.resume();
        throw new AppError(415, 'UNSUPPORTED_FILE_TYPE', 'Unsupported file type', {
          detail: 'Attachments are PDF, office documents, raster images, audio, video or plain text, recognised by their content (not by name or declared type).',
        });
      }
      const { id, key } = newStorageKey(keyPrefixes.attachment(access.sessionId), 'bin');
      const fileKey = newFileKey();
      // The store never sees the plaintext or its type.
      const size = await putEncrypted(storage, key, fileKey, id, whole);
      const discard = () => storage.delete([key]).catch(() => undefined); // else the orphan sweep takes it
      if (part.truncated()) {
        await discard();
        throw new AppError(413, 'FILE_TOO_LARGE', 'File too large', { detail: `An attachment may be at most ${Math.round(limits.attachmentMaxBytes / 1_048_576)} MB.` });
      }
      if (used + size > limits.quotaBytes) {
        await discard();
        throw quotaExceeded(limits.quotaBytes);
      }
      const name = part.filename.slice(0, 1000);
      try {
        // Under the key of the person the content is about, whoever uploads it (as entries are).
        const sealed = {
          filename: await content.sealFor(access.clientId, name, fileContext.name(id)),
          wrappedKey: await content.sealFor(access.clientId, fileKey.toString('base64url'), fileContext.key(id)),
        };
        const file = await models.StoredFile.create({
          id,
          purpose: 'attachment',
          status: 'ready',
          storageKey: key,
          uploadedBy: actor.userId,
          sessionId: access.sessionId,
          organizationId: null,
          contentType,
          size,
          ...sealed,
          expiresAt: null,
        });
        return fileView(file, name);
      } catch (error) {
        await discard();
        throw error;
      }
    },

    /** Every attachment of a session for those who may see it; names only for those who may read its content. */
    async list(actor: Actor, sessionId: string, meta: Partial<RequestMeta>) {
      const access = await deps.sessions.attachmentAccess(actor, sessionId, meta, { reading: false });
      const files = await models.StoredFile.findAll({ where: { sessionId: access.sessionId, purpose: 'attachment', status: 'ready' }, order: [['createdAt', 'ASC'], ['id', 'ASC']] });
      return { items: await fileViews(content, files, () => access.mayRead) };
    },
  };
}

export type AttachmentsService = ReturnType<typeof createAttachmentsService>;
