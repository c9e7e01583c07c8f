import type { ContentCipher } from '../../crypto/content-cipher.js';
import { moveToPersonKeys, type MigratedRow, type MigrationOptions, type RotationProgress } from '../../crypto/content-migration.js';
import type { Models } from '../../models/index.js';
import { textContext } from './session-views.js';

export type { RotationProgress };

/** Entries and feedback both carry the id of the session's client. */
const clientOfEach = (rows: MigratedRow[]) => new Map(rows.map((row) => [row.id, row.userId!]));

/**
 * Part of `npm run keys:rotate-data`: moves counseling text (entry text, feedback comments)
 * still under the single key of old (`enc1:`, or plaintext from before encryption) to the
 * data key of the session's client, in batches, safe to interrupt and run again
 * (`moveToPersonKeys`).
 */
export function migrateToPersonKeys(models: Pick<Models, 'SessionEntry' | 'SessionFeedback'>, content: ContentCipher, options: MigrationOptions = {}): Promise<RotationProgress> {
  return moveToPersonKeys(
    content,
    [
      { model: models.SessionEntry, column: 'text', attributes: ['userId'], context: (row) => textContext.entry(row.id), ownersOf: clientOfEach },
      { model: models.SessionFeedback, column: 'comment', attributes: ['sessionId', 'userId'], context: (row) => textContext.feedback(row.sessionId!), ownersOf: clientOfEach },
    ],
    options,
  );
}
