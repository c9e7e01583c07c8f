import { createHmac } from 'node:crypto';
import { deriveKey, open, seal } from './secret-box.js';

const PREFIX = 'enc1';

interface DataKey {
  id: string;
  key: Buffer;
}

function dataKeyFrom(master: string): DataKey {
  const key = deriveKey(master, 'counseling-text');
  // The key id names the key without revealing anything about it.
  return { id: createHmac('sha256', key).update('key-id').digest('hex').slice(0, 12), key };
}

/**
 * Field-level encryption of counseling text (docs/DESIGN.md §7.1): AES-256-GCM under a key derived
 * from DATA_ENCRYPTION_KEY, stored as `enc1:<key id>:<iv>.<tag>.<ciphertext>`. The key id
 * makes keys rotatable: earlier keys (DATA_ENCRYPTION_KEYS_PREVIOUS) still decrypt until
 * `npm run keys:rotate-data` has re-encrypted every row under the current one. The
 * associated data binds a ciphertext to its row, so it cannot be moved to another one.
 */
export class DataCipher {
  private readonly current: DataKey;
  private readonly byId: Map<string, DataKey>;

  constructor(currentMaster: string, previousMasters: string[] = []) {
    this.current = dataKeyFrom(currentMaster);
    const keys = [this.current, ...previousMasters.map(dataKeyFrom)];
    this.byId = new Map(keys.map((key) => [key.id, key]));
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  encrypt(plaintext: string, rowContext: string): string {
    return `${PREFIX}:${this.current.id}:${seal(this.current.key, plaintext, rowContext)}`;
  }

  decrypt(stored: string, rowContext: string): string {
    const [prefix, keyId, sealed] = stored.split(':', 3);
    if (prefix !== PREFIX || !keyId || !sealed) throw new Error('stored text is not in the encrypted format');
    const dataKey = this.byId.get(keyId);
    if (!dataKey) throw new Error(`no data key ${keyId}: is DATA_ENCRYPTION_KEYS_PREVIOUS missing a key?`);
    return open(dataKey.key, sealed, rowContext);
  }

  keyIdOf(stored: string): string | undefined {
    return stored.startsWith(`${PREFIX}:`) ? stored.split(':', 3)[1] : undefined;
  }

  /** Whether a stored value is under an older key (and so due for re-encryption). */
  needsRotation(stored: string): boolean {
    return this.keyIdOf(stored) !== this.current.id;
  }
}
