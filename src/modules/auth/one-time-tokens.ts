import { Op, type Sequelize, type Transaction } from 'sequelize';
import { linkTokenHash as hashOf, newLinkToken } from '../../crypto/link-tokens.js';
import type { Models } from '../../models/index.js';
import type { TokenPurpose } from '../../models/one-time-token.model.js';

/** Verification and reset tokens: random 256 bits, stored hashed, single use, expiring. */
export class OneTimeTokens {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly models: Pick<Models, 'OneTimeToken'>,
    /** Locks a person's account row (the users module's), so their tokens are issued one at a time. */
    private readonly lockAccount: (userId: string, transaction: Transaction) => Promise<void>,
  ) {}

  /**
   * A new token for the purpose; any earlier unused one for the same user and purpose dies.
   * Concurrent requests for one user take turns on the user's row, so exactly one survives.
   */
  async issue(userId: string, purpose: TokenPurpose, ttlMs: number): Promise<string> {
    const { token, hash } = newLinkToken();
    await this.sequelize.transaction(async (transaction) => {
      await this.lockAccount(userId, transaction);
      await this.models.OneTimeToken.destroy({ where: { userId, purpose, usedAt: null }, transaction });
      await this.models.OneTimeToken.create({ userId, purpose, tokenHash: hash, expiresAt: new Date(Date.now() + ttlMs) }, { transaction });
    });
    return token;
  }

  /** The live token row without using it up (to check a new password against its owner first). */
  find(token: string, purpose: TokenPurpose) {
    return this.models.OneTimeToken.findOne({ where: { tokenHash: hashOf(token), purpose, usedAt: null, expiresAt: { [Op.gt]: new Date() } } });
  }

  /** Uses the token up, and any sibling of the same purpose with it; exactly one caller wins. */
  async consume(token: string, purpose: TokenPurpose, transaction?: Transaction): Promise<string | undefined> {
    const row = await this.find(token, purpose);
    if (!row) return undefined;
    const now = new Date();
    const [used] = await this.models.OneTimeToken.update(
      { usedAt: now },
      { where: { id: row.id, usedAt: null, expiresAt: { [Op.gt]: now } }, transaction },
    );
    if (used !== 1) return undefined;
    await this.models.OneTimeToken.update({ usedAt: now }, { where: { userId: row.userId, purpose, usedAt: null }, transaction });
    return row.userId;
  }
}
