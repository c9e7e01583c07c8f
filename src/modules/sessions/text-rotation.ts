import { Op } from 'sequelize';
import { ContentCipher } from '../../crypto/content-cipher.js';
import type { Models } from '../../models/index.js';
import { textContext } from './session-views.js';

export interface RotationProgress {
  examined: number;
  reencrypted: number;
  batches: number;
}

interface EncryptedColumn {
  model: Models['SessionEntry'] | Models['SessionFeedback'];
  column: 'text' | 'comment';
  context: (row: { id: string; sessionId: string }) => string;
}

/**
 * Part of `npm run keys:rotate-data`: moves counseling text still under the single key
 * derived from DATA_ENCRYPTION_KEY (`enc1:`, or plaintext from before encryption) to the data
 * key of the session's client (`enc2:`), in batches by primary key. Each row is rewritten only
 * if it still holds the value that was read, so live writes are never lost; rows already
 * under a person's key are left out, so an interrupted run simply continues when run again.
 * Values under a person's key are never re-encrypted: a master-key rotation re-wraps the keys.
 */
export async function migrateToPersonKeys(
  models: Pick<Models, 'SessionEntry' | 'SessionFeedback'>,
  content: ContentCipher,
  options: { batchSize?: number; maxBatches?: number; onBatch?: (progress: RotationProgress) => void } = {},
): Promise<RotationProgress> {
  const batchSize = options.batchSize ?? 500;
  const progress: RotationProgress = { examined: 0, reencrypted: 0, batches: 0 };
  const columns: EncryptedColumn[] = [
    { model: models.SessionEntry, column: 'text', context: (row) => textContext.entry(row.id) },
    { model: models.SessionFeedback, column: 'comment', context: (row) => textContext.feedback(row.sessionId) },
  ];
  for (const { model, column, context } of columns) {
    let afterId = '';
    for (;;) {
      if (options.maxBatches !== undefined && progress.batches >= options.maxBatches) return progress;
      const rows = (await (model as Models['SessionEntry']).findAll({
        where: { ...(afterId && { id: { [Op.gt]: afterId } }), [column]: { [Op.and]: [{ [Op.ne]: null }, { [Op.notLike]: 'enc2:%' }] } },
        attributes: ['id', 'sessionId', 'userId', column] as never,
        order: [['id', 'ASC']],
        limit: batchSize,
        raw: true,
      })) as unknown as { id: string; sessionId: string; userId: string; [key: string]: string }[];
      if (rows.length === 0) break;
      for (const row of rows) {
        const stored = row[column]!;
        progress.examined += 1;
        if (ContentCipher.isPersonKeyed(stored)) continue;
        // The session's client: entries and feedback both carry the client's id.
        const sealed = await content.sealFor(row.userId, content.openLegacy(stored, context(row)), context(row));
        const [updated] = await (model as Models['SessionEntry']).update({ [column]: sealed }, { where: { id: row.id, [column]: stored } });
        progress.reencrypted += updated;
      }
      afterId = rows[rows.length - 1]!.id;
      progress.batches += 1;
      options.onBatch?.(progress);
    }
  }
  return progress;
}
