import { Op } from 'sequelize';
import type { DataCipher } from '../../crypto/data-cipher.js';
import type { Models } from '../../models/index.js';
import { TotpFactors } from './totp.js';

/**
 * `npm run keys:rotate-data` for authenticator-app secrets: each is re-encrypted under the
 * current data key, in batches by id, and only if it still holds what was read; secrets
 * already under the current key are skipped, so a second run changes nothing.
 */
export async function rotateTotpSecrets(models: Pick<Models, 'TotpFactor'>, cipher: DataCipher, batchSize = 500) {
  const factors = new TotpFactors(models, cipher);
  const progress = { examined: 0, reencrypted: 0 };
  let afterId = '';
  for (;;) {
    const rows = await models.TotpFactor.findAll({
      where: afterId ? { id: { [Op.gt]: afterId } } : {},
      attributes: ['id', 'secretEncrypted'],
      order: [['id', 'ASC']],
      limit: batchSize,
    });
    if (rows.length === 0) return progress;
    for (const row of rows) {
      progress.examined += 1;
      if (await factors.reencrypt(row)) progress.reencrypted += 1;
    }
    afterId = rows[rows.length - 1]!.id;
  }
}
