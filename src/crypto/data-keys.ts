import { createHmac, randomBytes } from 'node:crypto';
import { Op } from 'sequelize';
import type { ModelStatic } from 'sequelize';
import type { DataKeyRow } from '../models/data-key.model.js';
import { deriveKey, open, seal } from './secret-box.js';

/** A person's data key, unwrapped: only ever in memory, in the bounded cache below. */
export interface DataKey {
  id: string;
  key: Buffer;
}

/** What a read gets for a key that was destroyed (crypto-shredding): the content is gone for good. */
export const ERASED = Symbol('erased');
export type Erased = typeof ERASED;

/** The unwrap cache: at most this many keys, each for at most this long (docs/SECURITY.md §9). */
export const KEY_CACHE_MAX = 1_000;
export const KEY_CACHE_TTL_MS = 60_000;

interface MasterKey {
  id: string;
  key: Buffer;
}

function masterKeyFrom(secret: string): MasterKey {
  const key = deriveKey(secret, 'data-key-wrapping');
  return { id: createHmac('sha256', key).update('key-id').digest('hex').slice(0, 12), key };
}

/** The wrapped key is bound to its row: copied to another key id it does not unwrap. */
const wrapContext = (keyId: string) => `data_keys:${keyId}`;

/** The key store as the keys need it: its table, and its migration applied before the first use. */
export interface DataKeyStore {
  keys: ModelStatic<DataKeyRow>;
  migrate(): Promise<void>;
}

type KeyRow = Pick<DataKeyRow, 'id' | 'ownerId' | 'wrapped' | 'masterKeyId'>;
const COLUMNS = ['id', 'ownerId', 'wrapped', 'masterKeyId'] as const;

export interface RewrapProgress {
  examined: number;
  rewrapped: number;
  batches: number;
}

/** The key is missing from the key store altogether (not destroyed): a wrong or restored-too-old key store. */
export class DataKeyMissingError extends Error {
  constructor(readonly keyId: string) {
    super(`the key store holds no data key ${keyId}: is KEY_STORE_URL pointing at the right database?`);
    this.name = 'DataKeyMissingError';
  }
}

/**
 * Envelope encryption: every person whose counseling content is stored has a random 256-bit
 * data key, kept in the key store wrapped (AES-256-GCM) under the master key derived from
 * DATA_ENCRYPTION_KEY. Content is sealed under the data key; rotating the master re-wraps
 * the keys and leaves the content alone; destroying a person's key makes every copy of their
 * content, in every backup of the data, unreadable. Unwrapped keys live in a small cache
 * (KEY_CACHE_MAX keys, KEY_CACHE_TTL_MS each), so a request unwraps each key once at most.
 *
 * `ContentCipher` seals and opens with them: counseling text, and the keys and names of
 * attachments. `forWriting(personId)` gives the key to seal with and its id to store beside
 * the ciphertext; `resolve([id])` gives it back, or ERASED once destroyed.
 */
export class DataKeys {
  private readonly current: MasterKey;
  private readonly masters: Map<string, MasterKey>;
  private readonly cache = new Map<string, { key: DataKey; owner: string | null; until: number }>();
  private readonly byOwner = new Map<string, string>();

  constructor(
    private readonly store: DataKeyStore,
    currentMaster: string,
    previousMasters: string[] = [],
    private readonly now: () => number = Date.now,
  ) {
    this.current = masterKeyFrom(currentMaster);
    this.masters = new Map([this.current, ...previousMasters.map(masterKeyFrom)].map((master) => [master.id, master]));
  }

  get currentMasterKeyId(): string {
    return this.current.id;
  }

  private remember(key: DataKey, owner: string | null): void {
    if (this.cache.size >= KEY_CACHE_MAX) {
      const oldest = this.cache.keys().next().value!;
      this.forget(oldest);
    }
    this.cache.set(key.id, { key, owner, until: this.now() + KEY_CACHE_TTL_MS });
    if (owner) this.byOwner.set(owner, key.id);
  }

  private forget(keyId: string): void {
    const entry = this.cache.get(keyId);
    this.cache.delete(keyId);
    if (entry?.owner && this.byOwner.get(entry.owner) === keyId) this.byOwner.delete(entry.owner);
  }

  private cached(keyId: string): DataKey | undefined {
    const entry = this.cache.get(keyId);
    if (!entry) return undefined;
    if (entry.until <= this.now()) {
      this.forget(keyId);
      return undefined;
    }
    return entry.key;
  }

  private unwrap(row: KeyRow): DataKey {
    const master = this.masters.get(row.masterKeyId ?? '');
    if (!master) throw new Error(`data key ${row.id} is wrapped under master key ${row.masterKeyId}: is DATA_ENCRYPTION_KEYS_PREVIOUS missing a key?`);
    return { id: row.id, key: Buffer.from(open(master.key, row.wrapped!, wrapContext(row.id)), 'base64') };
  }

  /** The person's data key, made (and wrapped into the key store) on their first content. */
  async forWriting(personId: string): Promise<DataKey> {
    const cachedId = this.byOwner.get(personId);
    const hit = cachedId ? this.cached(cachedId) : undefined;
    if (hit) return hit;
    await this.store.migrate();
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const row = await this.store.keys.findOne({ where: { ownerId: personId }, attributes: [...COLUMNS], raw: true });
      if (row?.wrapped) {
        const key = this.unwrap(row);
        this.remember(key, personId);
        return key;
      }
      const key = { id: randomBytes(16).toString('hex'), key: randomBytes(32) };
      try {
        await this.store.keys.create({
          id: key.id,
          ownerId: personId,
          wrapped: this.wrap(key),
          masterKeyId: this.current.id,
          createdAt: new Date(this.now()),
          destroyedAt: null,
        });
        this.remember(key, personId);
        return key;
      } catch (error) {
        // Another request made the person's key at the same moment: read theirs.
        if ((error as Error).name !== 'SequelizeUniqueConstraintError') throw error;
      }
    }
    throw new Error(`could not make or read the data key of ${personId}`);
  }

  /** The keys named, each unwrapped once: ERASED for a destroyed key; a key never stored is an error. */
  async resolve(keyIds: Iterable<string>): Promise<Map<string, DataKey | Erased>> {
    const result = new Map<string, DataKey | Erased>();
    const wanted: string[] = [];
    for (const id of new Set(keyIds)) {
      const hit = this.cached(id);
      if (hit) result.set(id, hit);
      else wanted.push(id);
    }
    if (wanted.length === 0) return result;
    await this.store.migrate();
    const rows = await this.store.keys.findAll({ where: { id: wanted }, attributes: [...COLUMNS], raw: true });
    for (const row of rows) {
      if (row.wrapped === null) {
        result.set(row.id, ERASED);
        continue;
      }
      const key = this.unwrap(row);
      this.remember(key, row.ownerId);
      result.set(row.id, key);
    }
    const missing = wanted.find((id) => !result.has(id));
    if (missing) throw new DataKeyMissingError(missing);
    return result;
  }

  /**
   * Crypto-shredding: the person's wrapped key is overwritten (a tombstone naming nobody
   * remains, so later reads say "erased" rather than "missing"). Returns the keys destroyed.
   */
  async destroy(personId: string): Promise<number> {
    await this.store.migrate();
    const rows = await this.store.keys.findAll({ where: { ownerId: personId }, attributes: ['id'], raw: true });
    for (const row of rows) this.forget(row.id);
    this.byOwner.delete(personId);
    if (rows.length === 0) return 0;
    const [destroyed] = await this.store.keys.update({ wrapped: null, masterKeyId: null, ownerId: null, destroyedAt: new Date(this.now()) }, { where: { ownerId: personId } });
    return destroyed;
  }

  /**
   * Master-key rotation: every wrapped key under an older master is re-wrapped under the
   * current one, in batches by id; a row is rewritten only if it still holds what was read,
   * so an interrupted run continues where it stopped. Content is never touched.
   */
  async rewrap(options: { batchSize?: number; maxBatches?: number; onBatch?: (progress: RewrapProgress) => void } = {}): Promise<RewrapProgress> {
    await this.store.migrate();
    const batchSize = options.batchSize ?? 500;
    const progress: RewrapProgress = { examined: 0, rewrapped: 0, batches: 0 };
    let afterId = '';
    for (;;) {
      if (options.maxBatches !== undefined && progress.batches >= options.maxBatches) return progress;
      const rows = await this.store.keys.findAll({
        where: { id: { [Op.gt]: afterId }, wrapped: { [Op.ne]: null } },
        attributes: [...COLUMNS],
        order: [['id', 'ASC']],
        limit: batchSize,
        raw: true,
      });
      if (rows.length === 0) return progress;
      for (const row of rows) {
        progress.examined += 1;
        if (row.masterKeyId === this.current.id) continue;
        const [updated] = await this.store.keys.update({ wrapped: this.wrap(this.unwrap(row)), masterKeyId: this.current.id }, { where: { id: row.id, wrapped: row.wrapped! } });
        progress.rewrapped += updated;
      }
      afterId = rows[rows.length - 1]!.id;
      progress.batches += 1;
      options.onBatch?.(progress);
    }
  }

  /** How many live keys are still wrapped under a master other than the current one. */
  async staleCount(): Promise<number> {
    await this.store.migrate();
    return this.store.keys.count({ where: { wrapped: { [Op.ne]: null }, masterKeyId: { [Op.ne]: this.current.id } } });
  }

  private wrap(key: DataKey): string {
    return seal(this.current.key, key.key.toString('base64'), wrapContext(key.id));
  }
}
