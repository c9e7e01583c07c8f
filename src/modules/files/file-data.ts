import { Op, type Transaction } from 'sequelize';
import type { DataCipher } from '../../crypto/data-cipher.js';
import type { Logger } from '../../infra/logger.js';
import type { Models } from '../../models/index.js';
import { keyPrefixes } from './file-keys.js';
import { fileContext, fileView } from './file-views.js';
import type { ObjectStorage } from './storage/port.js';

const DAY_MS = 86_400_000;

/**
 * The files of a person and of nobody (GDPR export, account deletion, the sweeps), and the
 * re-encryption of attachment keys when the data key rotates.
 */
export function createFileData(deps: { models: Pick<Models, 'StoredFile'>; cipher: DataCipher; storage: ObjectStorage; logger: Logger }) {
  const { models, cipher, storage, logger } = deps;

  /** Deletes objects now; what fails stays for the orphan sweep (the rows are gone, so an attachment is already unreadable). */
  function discard(keys: string[]): void {
    if (keys.length === 0) return;
    storage.delete(keys).catch((error: unknown) => logger.warn('files: objects left for the orphan sweep', { error: (error as Error).name, count: keys.length }));
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
      return files.map((file) => fileView(file, cipher, { withName: file.purpose === 'attachment' }));
    },

    /**
     * Account deletion: the person's avatar and pending uploads, and every attachment of their
     * own sessions (the sessions go with the account). Attachments they gave other people's
     * sessions stay in those records (uploaded_by becomes null). Returns the keys to discard after commit.
     */
    async releaseAccount(userId: string, ownSessionIds: string[], transaction: Transaction): Promise<string[]> {
      const where = { [Op.or]: [{ uploadedBy: userId, purpose: { [Op.ne]: 'attachment' } }, { uploadedBy: userId, status: 'pending' }, ...(ownSessionIds.length ? [{ sessionId: ownSessionIds }] : [])] };
      const files = await models.StoredFile.findAll({ where, attributes: ['id', 'storageKey'], transaction });
      if (files.length > 0) await models.StoredFile.destroy({ where: { id: files.map((file) => file.id) }, transaction });
      return files.map((file) => file.storageKey);
    },

    /** Presigned uploads never registered within a day: row and object go. */
    async sweepPending(now: Date): Promise<number> {
      const stale = await models.StoredFile.findAll({ where: { status: 'pending', expiresAt: { [Op.lt]: now } }, attributes: ['id', 'storageKey'] });
      if (stale.length === 0) return 0;
      await storage.delete(stale.map((file) => file.storageKey));
      return models.StoredFile.destroy({ where: { id: stale.map((file) => file.id), status: 'pending' } });
    },

    /**
     * Objects no row names (a deleted session's or organization's, an upload whose row was
     * never written), a day old so that no upload in progress is taken.
     */
    async sweepOrphans(now: Date): Promise<number> {
      const cutoff = now.getTime() - DAY_MS;
      let removed = 0;
      for (const prefix of keyPrefixes.all) {
        let batch: string[] = [];
        const flush = async () => {
          const known = new Set((await models.StoredFile.findAll({ where: { storageKey: batch }, attributes: ['storageKey'] })).map((file) => file.storageKey));
          const orphans = batch.filter((key) => !known.has(key));
          if (orphans.length > 0) await storage.delete(orphans);
          removed += orphans.length;
          batch = [];
        };
        for await (const object of storage.list(prefix)) {
          if (object.lastModified.getTime() >= cutoff) continue;
          batch.push(object.key);
          if (batch.length >= 500) await flush();
        }
        if (batch.length > 0) await flush();
      }
      return removed;
    },
  };
}

/**
 * `npm run keys:rotate-data` for attachments: each file's own key and name are re-encrypted
 * under the current data key; the objects are not touched (their content key does not change).
 */
export async function rotateFileKeys(models: Pick<Models, 'StoredFile'>, cipher: DataCipher): Promise<{ examined: number; reencrypted: number }> {
  const progress = { examined: 0, reencrypted: 0 };
  let afterId = '';
  for (;;) {
    const rows = await models.StoredFile.findAll({
      where: { wrappedKey: { [Op.ne]: null }, ...(afterId && { id: { [Op.gt]: afterId } }) },
      attributes: ['id', 'wrappedKey', 'filename'],
      order: [['id', 'ASC']],
      limit: 500,
    });
    if (rows.length === 0) return progress;
    for (const row of rows) {
      progress.examined += 1;
      const key = row.wrappedKey!;
      const name = row.filename;
      if (!cipher.needsRotation(key) && (name === null || !cipher.needsRotation(name))) continue;
      const changes = {
        wrappedKey: cipher.encrypt(cipher.decrypt(key, fileContext.key(row.id)), fileContext.key(row.id)),
        ...(name !== null && { filename: cipher.encrypt(cipher.decrypt(name, fileContext.name(row.id)), fileContext.name(row.id)) }),
      };
      const [updated] = await models.StoredFile.update(changes, { where: { id: row.id, wrappedKey: key } });
      progress.reencrypted += updated;
    }
    afterId = rows[rows.length - 1]!.id;
  }
}
