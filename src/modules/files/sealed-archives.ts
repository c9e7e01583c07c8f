import type { Readable } from 'node:stream';
import type { ContentCipher } from '../../crypto/content-cipher.js';
import { ERASED, type Erased } from '../../crypto/data-keys.js';
import { getDecrypted, putEncrypted } from './encrypted-objects.js';
import { newFileKey } from './file-crypto.js';
import { newStorageKey } from './file-keys.js';
import { fromStorage } from './file-views.js';
import type { ObjectStorage } from './storage/port.js';

/** Where a person's archives wait: never under a prefix the orphan sweep lists (no files row names them). */
const archivePrefix = (ownerId: string) => `exports/${ownerId}`;
const archiveContext = (archiveId: string) => `archive-key:${archiveId}`;

export interface SealedArchive {
  id: string;
  storageKey: string;
  /** The archive's own key, sealed under its owner's data key. */
  sealedKey: string;
}

/**
 * Archives another module builds (the GDPR export), kept in object storage as ciphertext:
 * each under a random key of its own (the chunked AES-256-GCM of attachments), that key
 * sealed under the owner's data key, so destroying the owner's key makes every copy unreadable.
 */
export function createSealedArchives(deps: { storage: ObjectStorage; content: ContentCipher; discard: (keys: string[]) => void }) {
  const { storage, content } = deps;
  return {
    /** Deletes now, or logs and leaves the objects for the owner's next retention run. */
    discard: deps.discard,

    /** Deletes and waits: a failure throws (retention runs again). */
    remove: (keys: string[]) => fromStorage(() => storage.delete(keys)),

    /** Encrypts `body` into storage; resolves with where it is and how many plaintext bytes it held. */
    async store(ownerId: string, archiveId: string, body: Readable): Promise<SealedArchive & { size: number }> {
      const key = newFileKey();
      const { key: storageKey } = newStorageKey(archivePrefix(ownerId), 'zip');
      const size = await putEncrypted(storage, storageKey, key, archiveId, body);
      const sealedKey = await content.sealFor(ownerId, key.toString('base64url'), archiveContext(archiveId));
      return { id: archiveId, storageKey, sealedKey, size };
    },

    /** The plaintext of an archive, or ERASED when its owner's data key was destroyed. */
    async open(archive: SealedArchive): Promise<Readable | Erased> {
      const opened = (await content.opener([archive.sealedKey]))(archive.sealedKey, archiveContext(archive.id));
      if (opened === ERASED) return ERASED;
      return getDecrypted(storage, archive.storageKey, Buffer.from(opened, 'base64url'), archive.id);
    },
  };
}

export type SealedArchives = ReturnType<typeof createSealedArchives>;
