import { createHash, randomBytes } from 'node:crypto';
import { Op, type Transaction } from 'sequelize';
import type { Models } from '../../models/index.js';
import type { TokenPurpose } from '../../models/one-time-token.model.js';



function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Verification and reset tokens: random 256 bits, stored hashed, single use, expiring. */
export class OneTimeTokens {
  constructor(private readonly models: Pick<Models, 'OneTimeToken'>) {}

  /** A new token for the purpose; any earlier unused one for the same user and purpose dies. */
  async issue(userId: string, purpose: TokenPurpose, ttlMs: number): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.models.OneTimeToken.destroy({ where: { userId, purpose, usedAt: null } });
    await this.models.OneTimeToken.create({ userId, purpose, tokenHash: hashOf(token), expiresAt: new Date(Date.now() + ttlMs) });
    return token;
  }

  /** The live token row without using it up (to check a new password against its owner first). */
  find(token: string, purpose: TokenPurpose) {
    return this.models.OneTimeToken.findOne({ where: { tokenHash: hashOf(token), purpose, usedAt: null, expiresAt: { [Op.gt]: new Date() } } });
  }

  /** Uses the token up; exactly one caller can win, returning the user id. */
  async consume(token: string, purpose: TokenPurpose, transaction?: Transaction): Promise<string | undefined> {
    const row = await this.find(token, purpose);
    if (!row) return undefined;
    const [used] = await this.models.OneTimeToken.update(
      { usedAt: new Date() },
      { where: { id: row.id, usedAt: null, expiresAt: { [Op.gt]: new Date() } }, transaction },
    );
    return used === 1 ? row.userId : undefined;
  }
}
