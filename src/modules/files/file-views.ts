import type { ContentCipher } from '../../crypto/content-cipher.js';
import { ERASED, type Erased } from '../../crypto/data-keys.js';
import { AppError } from '../../errors/app-error.js';
import type { StoredFileModel } from '../../models/stored-file.model.js';
import { StorageUnavailable } from './storage/port.js';

/** The associated data of an attachment's sealed key and name: bound to its row. */
export const fileContext = {
  key: (fileId: string) => `file-key:${fileId}`,
  name: (fileId: string) => `file-name:${fileId}`,
};

export const storageDown = (cause?: unknown) => AppError.unavailable('STORAGE_UNAVAILABLE', 'File storage is unavailable; try again shortly.', cause);

/** Runs a storage call, turning any failure of the store into a 503 problem. */
export async function fromStorage<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw storageDown(error instanceof StorageUnavailable ? error.cause : error);
  }
}

/** The person the attachment is about had their data key destroyed: its key and name are gone for good. */
export const attachmentErased = () =>
  new AppError(410, 'ATTACHMENT_ERASED', 'Attachment erased', {
    errorClass: 'not_found',
    detail: 'This attachment was erased with the data of the person it is about; it cannot be recovered.',
  });

export const downloadPath = (fileId: string) => `/api/files/${fileId}/stream`;

/**
 * A file as the API shows it, with the name given: an attachment's original name for those who
 * may read its content (null otherwise), or ERASED (`filename: null, erased: true`) when the
 * data key of the session's client was destroyed.
 */
export function fileView(file: StoredFileModel, name: string | null | Erased) {
  return {
    id: file.id,
    purpose: file.purpose,
    status: file.status,
    contentType: file.contentType,
    size: file.size,
    filename: name === ERASED ? null : name,
    ...(name === ERASED && { erased: true as const }),
    sessionId: file.sessionId ?? null,
    organizationId: file.organizationId ?? null,
    uploadedBy: file.uploadedBy,
    createdAt: file.createdAt.toISOString(),
    downloadPath: downloadPath(file.id),
  };
}

/** Files as the API shows them, the names opened for those `withName` picks (each person's key unwrapped once for the lot). */
export async function fileViews(content: ContentCipher, files: StoredFileModel[], withName: (file: StoredFileModel) => boolean) {
  const named = (file: StoredFileModel) => withName(file) && file.filename !== null;
  const open = await content.opener(files.filter(named).map((file) => file.filename));
  return files.map((file) => fileView(file, named(file) ? open(file.filename!, fileContext.name(file.id)) : null));
}
