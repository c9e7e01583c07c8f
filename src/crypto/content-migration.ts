import { Op, type Model, type ModelStatic } from 'sequelize';
import { ContentCipher } from './content-cipher.js';

export interface RotationProgress {
  examined: number;
  reencrypted: number;
  batches: number;
}

/** A row as the migration reads it: its id, the column being moved, and the further attributes it names. */
export type MigratedRow = { id: string } & Record<string, string | null>;

/** One encrypted column to move to per-person keys. */
export interface PersonKeyedColumn {
  model: ModelStatic<Model>;
  column: string;
  /** The further attributes `context` and `ownersOf` read. */
  attributes: string[];
  /** The associated data of the column's values, as the readers open them. */
  context: (row: MigratedRow) => string;
  /** The person each row of a batch is about (the session's client), by row id; a row left out is skipped. */
  ownersOf: (rows: MigratedRow[]) => Map<string, string> | Promise<Map<string, string>>;
}

export interface MigrationOptions {
  batchSize?: number;
  /** Stops after this many batches (a test's interruption). */
  maxBatches?: number;
  onBatch?: (progress: RotationProgress) => void;
}

/**
 * Part of `npm run keys:rotate-data`: moves values still under the single key derived from
 * DATA_ENCRYPTION_KEY (`enc1:`, or plaintext from before encryption) to the data key of the
 * person they are about (`enc2:`), column by column, in batches by primary key. Each row is
 * rewritten only if it still holds the value that was read, so live writes are never lost and
 * a row deleted meanwhile is not brought back; values already under a person's key are left
 * out, so an interrupted run simply continues when run again. Values under a person's key
 * are never re-encrypted: a master-key rotation re-wraps the keys.
 */
export async function moveToPersonKeys(content: ContentCipher, columns: PersonKeyedColumn[], options: MigrationOptions = {}): Promise<RotationProgress> {
  const batchSize = options.batchSize ?? 500;
  const progress: RotationProgress = { examined: 0, reencrypted: 0, batches: 0 };
  for (const { model, column, attributes, context, ownersOf } of columns) {
    let afterId = '';
    for (;;) {
      if (options.maxBatches !== undefined && progress.batches >= options.maxBatches) return progress;
      const rows = (await model.findAll({
        where: { ...(afterId && { id: { [Op.gt]: afterId } }), [column]: { [Op.and]: [{ [Op.ne]: null }, { [Op.notLike]: 'enc2:%' }] } },
        attributes: ['id', ...attributes, column],
        order: [['id', 'ASC']],
        limit: batchSize,
        raw: true,
      })) as unknown as MigratedRow[];
      if (rows.length === 0) break;
      const owners = await ownersOf(rows);
      for (const row of rows) {
        const stored = row[column]!;
        progress.examined += 1;
        const owner = owners.get(row.id);
        if (ContentCipher.isPersonKeyed(stored) || owner === undefined) continue;
        const sealed = await content.sealFor(owner, content.openLegacy(stored, context(row)), context(row));
        const [updated] = await model.update({ [column]: sealed }, { where: { id: row.id, [column]: stored } });
        progress.reencrypted += updated;
      }
      afterId = rows[rows.length - 1]!.id;
      progress.batches += 1;
      options.onBatch?.(progress);
    }
  }
  return progress;
}
