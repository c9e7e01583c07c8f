import type { Readable } from 'node:stream';
import type { ContentCipher } from '../../crypto/content-cipher.js';
import { ERASED, type Erased } from '../../crypto/data-keys.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { Actor } from '../../http/route.js';
import type { Models } from '../../models/index.js';
import type { StoredFileModel } from '../../models/stored-file.model.js';
import type { SessionsModule } from '../sessions/index.js';
import { inlineAllowed } from './content-types.js';
import { contentDisposition } from './disposition.js';
import { getDecrypted } from './encrypted-objects.js';
import { attachmentErased, fileContext, fileViews, fromStorage } from './file-views.js';
import type { ObjectStorage } from './storage/port.js';

/** A signed URL for an image lives this long. */
export const SIGNED_URL_S = 300;

export interface FilesDeps {
  models: Pick<Models, 'StoredFile'>;
  content: ContentCipher;
  storage: ObjectStorage;
  sessions: Pick<SessionsModule, 'attachmentAccess'>;
  discard: (keys: string[]) => void;
  /** The profile stops pointing at a deleted avatar. */
  clearAvatarUrl: (userId: string, fileId: string) => Promise<void>;
  clearLogoUrl: (organizationId: string, fileId: string) => Promise<void>;
}

/** The headers of every file answer: a download the browser neither sniffs, runs nor keeps. */
export function deliveryHeaders(file: { contentType: string; size: number }, name: string): Record<string, string> {
  const inline = inlineAllowed(file.contentType);
  return {
    'Content-Type': file.contentType === 'text/plain' ? 'text/plain; charset=utf-8' : file.contentType,
    'Content-Length': String(file.size),
    'Content-Disposition': contentDisposition(name, inline),
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "sandbox; default-src 'none'",
    'Cache-Control': 'private, no-store',
  };
}

const imageName = (file: StoredFileModel) => `${file.purpose === 'avatar' ? 'avatar' : 'logo'}.${file.storageKey.split('.').pop()}`;

/**
 * Reading files: metadata for whoever may see the file, a short-lived signed URL for a
 * registered image (only ever for a key of the files table, never one a client names), and
 * the bytes, decrypted for attachments, with safe delivery headers.
 */
export function createFilesService(deps: FilesDeps) {
  const { models, content, storage } = deps;

  /** A file the caller may see, or 404: registered images for every signed-in caller, pending ones for their uploader, attachments on the session's terms. */
  async function load(actor: Actor, fileId: string, meta: Partial<RequestMeta>, reading: boolean) {
    const file = await models.StoredFile.findByPk(fileId);
    if (!file || (file.status !== 'ready' && file.uploadedBy !== actor.userId)) throw AppError.notFound('file');
    if (file.purpose !== 'attachment') return { file, mayRead: true, access: undefined };
    const access = await deps.sessions.attachmentAccess(actor, file.sessionId!, meta, { reading });
    return { file, mayRead: access.mayRead, access };
  }

  /**
   * The bytes of a ready file: attachments decrypted, under their original name; ERASED for an
   * attachment whose client's data key was destroyed. Key and name are opened first, so an
   * erased attachment is known before the store is asked for anything.
   */
  async function bytesOf(file: StoredFileModel): Promise<{ name: string; body: Readable } | Erased> {
    if (file.purpose !== 'attachment') return { name: imageName(file), body: await fromStorage(() => storage.get(file.storageKey)) };
    const open = await content.opener([file.wrappedKey, file.filename]);
    const key = open(file.wrappedKey!, fileContext.key(file.id));
    const name = open(file.filename!, fileContext.name(file.id));
    if (key === ERASED || name === ERASED) return ERASED;
    return { name, body: await getDecrypted(storage, file.storageKey, Buffer.from(key, 'base64url'), file.id) };
  }

  return {
    async get(actor: Actor, fileId: string, meta: Partial<RequestMeta>) {
      const { file, mayRead } = await load(actor, fileId, meta, false);
      const view = (await fileViews(content, [file], () => mayRead))[0]!;
      if (file.purpose === 'attachment' || file.status !== 'ready') return { ...view, url: null, urlExpiresIn: null };
      const name = imageName(file);
      const url = await fromStorage(() => storage.signedGetUrl(file.storageKey, { expiresS: SIGNED_URL_S, contentType: file.contentType, disposition: contentDisposition(name, true) }));
      return { ...view, url, urlExpiresIn: SIGNED_URL_S };
    },

    async open(actor: Actor, fileId: string, meta: Partial<RequestMeta>): Promise<{ headers: Record<string, string>; body: Readable }> {
      const { file, mayRead, access } = await load(actor, fileId, meta, true);
      if (file.status !== 'ready') throw AppError.notFound('file');
      if (!mayRead) throw access!.readRefusal();
      const bytes = await bytesOf(file);
      if (bytes === ERASED) throw attachmentErased();
      return { headers: deliveryHeaders(file, bytes.name), body: bytes.body };
    },

    /**
     * The GDPR export archive: a file of the person's own (exportFor listed it), by id, with
     * the name it goes by. No access check here: the caller is the person's own export job.
     * An erased attachment has no bytes to give: the document lists it as erased.
     */
    async openForExport(fileId: string): Promise<{ name: string; body: Readable } | undefined> {
      const file = await models.StoredFile.findByPk(fileId);
      if (!file || file.status !== 'ready') return undefined; // deleted since the list was made
      const bytes = await bytesOf(file);
      return bytes === ERASED ? undefined : bytes;
    },

    /** The uploader or a platform admin; for an attachment also the session's client. */
    async remove(actor: Actor, fileId: string, meta: Partial<RequestMeta>): Promise<void> {
      const { file, access } = await load(actor, fileId, meta, false);
      const allowed = file.uploadedBy === actor.userId || actor.role === 'admin' || access?.clientId === actor.userId;
      if (!allowed) throw AppError.forbidden('FORBIDDEN', 'A file is deleted by whoever uploaded it (or, for an attachment, the session’s client).');
      await file.destroy();
      deps.discard([file.storageKey]);
      if (file.purpose === 'avatar' && file.uploadedBy) await deps.clearAvatarUrl(file.uploadedBy, file.id);
      if (file.purpose === 'orgLogo' && file.organizationId) await deps.clearLogoUrl(file.organizationId, file.id);
    },
  };
}

export type FilesService = ReturnType<typeof createFilesService>;
