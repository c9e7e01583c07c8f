import { pipeline, type Readable } from 'node:stream';
import { decryptStream, encryptStream } from './file-crypto.js';
import { fromStorage } from './file-views.js';
import type { ObjectStorage } from './storage/port.js';
import { byteCounter } from './streams.js';

/**
 * Streams `body` into storage as ciphertext under `fileKey` (bound to `objectId`): only
 * ciphertext leaves the process. `pipeline`, not `pipe`: a failure anywhere (a client going
 * away, a file that cannot be read) reaches the store's write. Resolves with the plaintext bytes.
 */
export async function putEncrypted(storage: ObjectStorage, storageKey: string, fileKey: Buffer, objectId: string, body: Readable): Promise<number> {
  const counter = byteCounter();
  const ciphertext = encryptStream(fileKey, objectId);
  pipeline(body, counter, ciphertext, () => undefined);
  await fromStorage(() => storage.put(storageKey, ciphertext, { contentType: 'application/octet-stream' }));
  return counter.bytes;
}

/** The plaintext of an object `putEncrypted` stored; a failing read of the store fails the stream. */
export async function getDecrypted(storage: ObjectStorage, storageKey: string, fileKey: Buffer, objectId: string): Promise<Readable> {
  const stored = await fromStorage(() => storage.get(storageKey));
  const plaintext = decryptStream(fileKey, objectId);
  stored.on('error', (error) => plaintext.destroy(error));
  return stored.pipe(plaintext);
}
