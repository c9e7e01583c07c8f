import { pipeline } from 'node:stream';
import type { Sequelize } from 'sequelize';
import type { DataCipher } from '../../crypto/data-cipher.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { Actor } from '../../http/route.js';
import type { Models } from '../../models/index.js';
import type { SessionsModule } from '../sessions/index.js';
import { attachmentExtension, sniff, SNIFF_BYTES } from './content-types.js';
import { encryptStream, newFileKey } from './file-crypto.js';
import { keyPrefixes, newStorageKey } from './file-keys.js';
import { fileContext, fileView, fromStorage } from './file-views.js';
import type { FilePart } from './multipart.js';
import type { ObjectStorage } from './storage/port.js';
import { byteCounter, peek } from './streams.js';

export interface AttachmentsDeps {
  sequelize: Sequelize;
  models: Pick<Models, 'StoredFile'>;
  cipher: DataCipher;
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
 * key of their own (stored encrypted under the data key) before they reach storage, and
 * read on the sessions module's need-to-know terms.
 */
export function createAttachmentsService(deps: AttachmentsDeps) {
  const { models, cipher, storage, limits } = deps;

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
      const counter = byteCounter();
      // Ciphertext only leaves the process: the store never sees the plaintext or its type.
      // pipeline, not pipe: a failure anywhere (the client going away) reaches the store's write.
      const ciphertext = encryptStream(fileKey, id);
      pipeline(whole, counter, ciphertext, () => undefined);
      await fromStorage(() => storage.put(key, ciphertext, { contentType: 'application/octet-stream' }));
      const discard = () => storage.delete([key]).catch(() => undefined); // else the orphan sweep takes it
      if (part.truncated()) {
        await discard();
        throw new AppError(413, 'FILE_TOO_LARGE', 'File too large', { detail: `An attachment may be at most ${Math.round(limits.attachmentMaxBytes / 1_048_576)} MB.` });
      }
      if (used + counter.bytes > limits.quotaBytes) {
        await discard();
        throw quotaExceeded(limits.quotaBytes);
      }
      try {
        const file = await models.StoredFile.create({
          id,
          purpose: 'attachment',
          status: 'ready',
          storageKey: key,
          uploadedBy: actor.userId,
          sessionId: access.sessionId,
          organizationId: null,
          contentType,
          size: counter.bytes,
          filename: cipher.encrypt(part.filename.slice(0, 1000), fileContext.name(id)),
          wrappedKey: cipher.encrypt(fileKey.toString('base64url'), fileContext.key(id)),
          expiresAt: null,
        });
        return fileView(file, cipher, { withName: true });
      } catch (error) {
        await discard();
        throw error;
      }
    },

    /** Every attachment of a session for those who may see it; names only for those who may read its content. */
    async list(actor: Actor, sessionId: string, meta: Partial<RequestMeta>) {
      const access = await deps.sessions.attachmentAccess(actor, sessionId, meta, { reading: false });
      const files = await models.StoredFile.findAll({ where: { sessionId: access.sessionId, purpose: 'attachment', status: 'ready' }, order: [['createdAt', 'ASC'], ['id', 'ASC']] });
      return { items: files.map((file) => fileView(file, cipher, { withName: access.mayRead })) };
    },
  };
}

export type AttachmentsService = ReturnType<typeof createAttachmentsService>;
