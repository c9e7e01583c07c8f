import type { DataCipher } from '../../crypto/data-cipher.js';
import { AppError } from '../../errors/app-error.js';
import type { StoredFileModel } from '../../models/stored-file.model.js';
import { StorageUnavailable } from './storage/port.js';

/** The associated data of a file's encrypted key and name: bound to its row. */
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

export const downloadPath = (fileId: string) => `/api/files/${fileId}/stream`;

/** A file as the API shows it; the original name of an attachment only to those who may read its content. */
export function fileView(file: StoredFileModel, cipher: DataCipher, options: { withName: boolean }) {
  const name = options.withName && file.filename ? cipher.decrypt(file.filename, fileContext.name(file.id)) : null;
  return {
    id: file.id,
    purpose: file.purpose,
    status: file.status,
    contentType: file.contentType,
    size: file.size,
    filename: name,
    sessionId: file.sessionId ?? null,
    organizationId: file.organizationId ?? null,
    uploadedBy: file.uploadedBy,
    createdAt: file.createdAt.toISOString(),
    downloadPath: downloadPath(file.id),
  };
}
