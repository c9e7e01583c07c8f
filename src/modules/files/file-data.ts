import { Op, type Transaction, type WhereOptions } from 'sequelize';
import type { ContentCipher } from '../../crypto/content-cipher.js';
import { moveToPersonKeys, type MigratedRow, type MigrationOptions, type RotationProgress } from '../../crypto/content-migration.js';
import type { Logger } from '../../infra/logger.js';
import { countPer, retentionCutoff, type RetentionJob } from '../../infra/retention.js';
import type { Models } from '../../models/index.js';
import type { StoredFileModel } from '../../models/stored-file.model.js';
import { keyPrefixes } from './file-keys.js';
import { fileContext, fileViews } from './file-views.js';
import type { ObjectStorage } from './storage/port.js';

/** An object no row names is left this long, so that no upload in progress is taken. */
const ORPHAN_MIN_AGE_DAYS = 1;
const stalePending = (now: Date) => ({ status: 'pending' as const, expiresAt: { [Op.lt]: now } });

/**
 * The files of a person and of nobody (GDPR export, account deletion, the sweeps), and the
 * move of older attachment keys and names to per-person keys.
 */
export function createFileData(deps: { models: Pick<Models, 'StoredFile'>; content: ContentCipher; storage: ObjectStorage; logger: Logger }) {
  const { models, content, storage, logger } = deps;

  /**
   * Deletes objects now; what fails stays for the orphan sweep (the rows are gone, so an
   * attachment is already unreadable). Never rejects: a caller may wait for it or not.
   */
  function discard(keys: string[]): Promise<void> {
    if (keys.length === 0) return Promise.resolve();
    return storage.delete(keys).catch((error: unknown) => logger.warn('files: objects left for the orphan sweep', { error: (error as Error).name, count: keys.length }));
  }

  /**
   * Objects no row names (a deleted session's or organization's, an upload whose row was
   * never written, one whose discard failed), a day old, in batches.
   */
  async function* orphans(now: Date): AsyncGenerator<string[]> {
    const cutoff = retentionCutoff(now, ORPHAN_MIN_AGE_DAYS).getTime();
    const unnamed = async (keys: string[]) => {
      const known = new Set((await models.StoredFile.findAll({ where: { storageKey: keys }, attributes: ['storageKey'] })).map((file) => file.storageKey));
      return keys.filter((key) => !known.has(key));
    };
    for (const prefix of keyPrefixes.all) {
      let batch: string[] = [];
      for await (const object of storage.list(prefix)) {
        if (object.lastModified.getTime() >= cutoff) continue;
        batch.push(object.key);
        if (batch.length >= 500) {
          yield await unnamed(batch);
          batch = [];
        }
      }
      if (batch.length > 0) yield await unnamed(batch);
    }
  }

  /** Deletes the rows `where` names in the caller's transaction; returns their objects' keys, to discard after commit. */
  async function release(where: WhereOptions<StoredFileModel>, transaction: Transaction): Promise<string[]> {
    const files = await models.StoredFile.findAll({ where, attributes: ['id', 'storageKey'], transaction });
    if (files.length > 0) await models.StoredFile.destroy({ where: { id: files.map((file) => file.id) }, transaction });
    return files.map((file) => file.storageKey);
  }

  return {
    discard,

    async usedBy(userId: string): Promise<number> {
      const sum = (await models.StoredFile.sum('size', { where: { uploadedBy: userId } })) as number | null;
      return Number(sum ?? 0);
    },

    /**
     * The person's files: their avatar and the logos they uploaded, and the attachments of their
     * own sessions (whoever uploaded them). Attachments a counselor gave a client's session are
     * the client's record and stay out of the counselor's export, as those sessions do.
     * Each with its metadata and the API path that downloads it while the account exists (the
     * export does not inline the bytes: a recording can be 50 MB).
     */
    async exportFor(userId: string, ownSessionIds: string[]) {
      const files = await models.StoredFile.findAll({
        where: { status: 'ready', [Op.or]: [{ uploadedBy: userId, purpose: { [Op.ne]: 'attachment' } }, ...(ownSessionIds.length ? [{ sessionId: ownSessionIds }] : [])] },
        order: [['createdAt', 'ASC'], ['id', 'ASC']],
      });
      return fileViews(content, files, (file) => file.purpose === 'attachment');
    },

    /**
     * Account deletion: the person's avatar and pending uploads, and every attachment of their
     * own sessions (the sessions go with the account). Attachments they gave other people's
     * sessions stay in those records (uploaded_by becomes null). Returns the keys to discard after commit.
     */
    async releaseAccount(userId: string, ownSessionIds: string[], transaction: Transaction): Promise<string[]> {
      const where = { [Op.or]: [{ uploadedBy: userId, purpose: { [Op.ne]: 'attachment' } }, { uploadedBy: userId, status: 'pending' }, ...(ownSessionIds.length ? [{ sessionId: ownSessionIds }] : [])] };
      return release(where, transaction);
    },

    /** How many attachments each of these sessions has (sessions without any are absent). */
    attachmentsOf: (sessionIds: string[]): Promise<Map<string, number>> => countPer(models.StoredFile, 'sessionId', { sessionId: sessionIds, purpose: 'attachment' }),

    /**
     * Session data past its retention: the attachments of these sessions, rows deleted in the
     * caller's transaction (which destroys their keys). Returns the keys to discard after commit.
     */
    async releaseSessions(sessionIds: string[], transaction: Transaction): Promise<string[]> {
      return release({ sessionId: sessionIds, purpose: 'attachment' }, transaction);
    },

    /** Presigned uploads never registered within a day: row and object go. */
    pendingJob: {
      count: async (now: Date) => ({ removes: { pendingUploads: await models.StoredFile.count({ where: stalePending(now) }) } }),
      async run(now: Date) {
        const stale = await models.StoredFile.findAll({ where: stalePending(now), attributes: ['id', 'storageKey'] });
        if (stale.length === 0) return { pendingUploads: 0 };
        await storage.delete(stale.map((file) => file.storageKey));
        return { pendingUploads: await models.StoredFile.destroy({ where: { id: stale.map((file) => file.id), status: 'pending' } }) };
      },
    } satisfies RetentionJob,

    /** Objects no row names, a day old. */
    orphansJob: {
      async count(now: Date) {
        let orphaned = 0;
        for await (const keys of orphans(now)) orphaned += keys.length;
        return { removes: { orphanedObjects: orphaned } };
      },
      async run(now: Date) {
        let removed = 0;
        for await (const keys of orphans(now)) {
          if (keys.length > 0) await storage.delete(keys);
          removed += keys.length;
        }
        return { orphanedObjects: removed };
      },
    } satisfies RetentionJob,
  };
}

/**
 * Part of `npm run keys:rotate-data`: moves attachment keys and names still under the single
 * key of old (`enc1:`) to the data key of the session's client (`moveToPersonKeys`: in
 * batches, safe to interrupt and run again, never re-encrypting what is under a person's
 * key). The objects are not touched: their content key does not change. `clientsOf` names
 * each session's client (the sessions module's `clientsOf`).
 */
export function migrateAttachmentsToPersonKeys(
  deps: { models: Pick<Models, 'StoredFile'>; content: ContentCipher; clientsOf: (sessionIds: string[]) => Promise<Map<string, string>> },
  options: MigrationOptions = {},
): Promise<RotationProgress> {
  const ownersOf = async (rows: MigratedRow[]) => {
    const clients = await deps.clientsOf([...new Set(rows.map((row) => row.sessionId).filter((id): id is string => typeof id === 'string'))]);
    const owners = new Map<string, string>();
    for (const row of rows) {
      const client = row.sessionId ? clients.get(row.sessionId) : undefined;
      if (client) owners.set(row.id, client);
    }
    return owners;
  };
  const { StoredFile } = deps.models;
  return moveToPersonKeys(
    deps.content,
    [
      { model: StoredFile, column: 'wrappedKey', attributes: ['sessionId'], context: (row) => fileContext.key(row.id), ownersOf },
      { model: StoredFile, column: 'filename', attributes: ['sessionId'], context: (row) => fileContext.name(row.id), ownersOf },
    ],
    options,
  );
}
