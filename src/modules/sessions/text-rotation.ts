import { Op } from 'sequelize';
import type { DataCipher } from '../../crypto/data-cipher.js';
import type { Models } from '../../models/index.js';
import { textContext } from './session-views.js';

export interface RotationProgress {
  examined: number;
  reencrypted: number;
  batches: number;
}

interface EncryptedColumn {
  name: string;
  model: Models['SessionEntry'] | Models['SessionFeedback'];
  column: 'text' | 'comment';
  context: (row: { id: string; sessionId: string }) => string;
}

/**
 * `npm run keys:rotate-data`: re-encrypts entry text and feedback comments under the
 * current data key, in batches by primary key. Each row is rewritten only if it still
 * holds the ciphertext that was read, so live writes are never lost; rows already under
 * the current key are skipped, so an interrupted run simply continues when run again.
 * Text stored before encryption existed (no `enc1:` prefix) is encrypted too.
 */
export async function rotateDataKeys(
  models: Pick<Models, 'SessionEntry' | 'SessionFeedback'>,
  cipher: DataCipher,
  options: { batchSize?: number; maxBatches?: number; onBatch?: (progress: RotationProgress) => void } = {},
): Promise<RotationProgress> {
  const batchSize = options.batchSize ?? 500;
  const progress: RotationProgress = { examined: 0, reencrypted: 0, batches: 0 };
  const columns: EncryptedColumn[] = [
    { name: 'session_entries.text', model: models.SessionEntry, column: 'text', context: (row) => textContext.entry(row.id) },
    { name: 'session_feedback.comment', model: models.SessionFeedback, column: 'comment', context: (row) => textContext.feedback(row.sessionId) },
  ];
  for (const { model, column, context } of columns) {
    let afterId = '';
    for (;;) {
      if (options.maxBatches !== undefined && progress.batches >= options.maxBatches) return progress;
      const rows = (await (model as Models['SessionEntry']).findAll({
        where: { ...(afterId && { id: { [Op.gt]: afterId } }), [column]: { [Op.ne]: null } },
        attributes: ['id', 'sessionId', column] as never,
        order: [['id', 'ASC']],
        limit: batchSize,
        raw: true,
      })) as unknown as { id: string; sessionId: string; [key: string]: string }[];
      if (rows.length === 0) break;
      for (const row of rows) {
        const stored = row[column]!;
        progress.examined += 1;
        if (!cipher.needsRotation(stored)) continue;
        const plaintext = cipher.keyIdOf(stored) === undefined ? stored : cipher.decrypt(stored, context(row));
        const [updated] = await (model as Models['SessionEntry']).update(
          { [column]: cipher.encrypt(plaintext, context(row)) },
          { where: { id: row.id, [column]: stored } },
        );
        progress.reencrypted += updated;
      }
      afterId = rows[rows.length - 1]!.id;
      progress.batches += 1;
      options.onBatch?.(progress);
    }
  }
  return progress;
}
