import type { DataCipher } from './data-cipher.js';
import { ERASED, type DataKeys, type Erased } from './data-keys.js';
import { open, seal } from './secret-box.js';

const PREFIX = 'enc2';

/** Opens stored values whose keys were loaded beforehand: the plaintext, or ERASED when the key was destroyed. */
export type Opener = (stored: string, rowContext: string) => string | Erased;

/**
 * Counseling content at rest (entry text, feedback comments, attachments' keys and names):
 * `enc2:<data key id>:<iv>.<tag>.<ciphertext>`, AES-256-GCM under the data key of the person
 * the content is about (the session's client), with the row as associated data. Values written before per-person keys (`enc1:`, one key derived from
 * DATA_ENCRYPTION_KEY) still open through the DataCipher until `npm run keys:rotate-data`
 * has moved them.
 */
export class ContentCipher {
  constructor(
    readonly keys: DataKeys,
    private readonly legacy: DataCipher,
  ) {}

  async sealFor(personId: string, plaintext: string, rowContext: string): Promise<string> {
    const key = await this.keys.forWriting(personId);
    return `${PREFIX}:${key.id}:${seal(key.key, plaintext, rowContext)}`;
  }

  /** Whether a stored value is under a per-person key already. */
  static isPersonKeyed(stored: string): boolean {
    return stored.startsWith(`${PREFIX}:`);
  }

  static keyIdOf(stored: string): string | undefined {
    return ContentCipher.isPersonKeyed(stored) ? stored.split(':', 3)[1] : undefined;
  }

  /** Loads (and unwraps once) every key the values name; the opener then works without I/O. */
  async opener(values: Iterable<string | null | undefined>): Promise<Opener> {
    const ids: string[] = [];
    for (const value of values) {
      const id = value ? ContentCipher.keyIdOf(value) : undefined;
      if (id) ids.push(id);
    }
    const keys = await this.keys.resolve(ids);
    return (stored, rowContext) => {
      if (!ContentCipher.isPersonKeyed(stored)) return this.legacy.decrypt(stored, rowContext);
      const [, keyId, sealed] = stored.split(':', 3);
      const key = keys.get(keyId!);
      if (key === undefined) throw new Error(`data key ${keyId} was not loaded`);
      if (key === ERASED) return ERASED;
      if (!sealed) throw new Error('stored text is not in the encrypted format');
      return open(key.key, sealed, rowContext);
    };
  }

  /** A legacy value (enc1, or plaintext from before encryption) as plaintext, for the migration. */
  openLegacy(stored: string, rowContext: string): string {
    return this.legacy.keyIdOf(stored) === undefined ? stored : this.legacy.decrypt(stored, rowContext);
  }
}
