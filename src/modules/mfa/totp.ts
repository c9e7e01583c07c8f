import { randomUUID } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import { Op, type Transaction } from 'sequelize';
import type { DataCipher } from '../../crypto/data-cipher.js';
import type { Models } from '../../models/index.js';
import type { TotpFactorModel } from '../../models/totp-factor.model.js';

export const TOTP_ISSUER = 'Confidant';
/** A code of the step before or after the current one is accepted too (clock drift, typing time). */
const TOLERANCE_S = 30;

/** The secret is bound to its row: ciphertext copied to another person's row does not decrypt. */
const secretContext = (factorId: string) => `totp-factor:${factorId}`;

/**
 * Authenticator-app codes (RFC 6238 through otplib: SHA-1, 6 digits, 30 s). The secret is
 * stored encrypted; a code is accepted within ±1 step and never twice, because the step it
 * was accepted for becomes the factor's `lastUsedStep` in one conditional update, which
 * also lets exactly one of two simultaneous uses of a code win.
 */
export class TotpFactors {
  constructor(
    private readonly models: Pick<Models, 'TotpFactor'>,
    private readonly cipher: DataCipher,
  ) {}

  find(userId: string) {
    return this.models.TotpFactor.findOne({ where: { userId } });
  }

  /** A new secret for an unconfirmed factor (replacing an earlier unconfirmed one); the caller checks none is confirmed. */
  async begin(user: { id: string; email: string }, existing: TotpFactorModel | null) {
    const secret = generateSecret();
    const id = existing?.id ?? randomUUID();
    const secretEncrypted = this.cipher.encrypt(secret, secretContext(id));
    if (existing) await existing.update({ secretEncrypted, lastUsedStep: null, lastUsedAt: null });
    else await this.models.TotpFactor.create({ id, userId: user.id, secretEncrypted });
    const otpauthUrl = generateURI({ issuer: TOTP_ISSUER, label: user.email, secret });
    const svg = await QRCode.toString(otpauthUrl, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
    return { secret, otpauthUrl, qr: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` };
  }

  /** Whether `code` is a current code of this factor not used before; a match is used up. */
  async accept(factor: TotpFactorModel, code: string, transaction?: Transaction): Promise<boolean> {
    const secret = this.cipher.decrypt(factor.secretEncrypted, secretContext(factor.id));
    const lastUsedStep = factor.lastUsedStep === null ? undefined : Number(factor.lastUsedStep);
    let result;
    try {
      result = await verify({ secret, token: code, epochTolerance: TOLERANCE_S, afterTimeStep: lastUsedStep });
    } catch {
      return false; // a last used step ahead of the clock's window (the clock went back): nothing here is acceptable
    }
    if (!result.valid || !('timeStep' in result)) return false;
    const [updated] = await this.models.TotpFactor.update(
      { lastUsedStep: result.timeStep, lastUsedAt: new Date() },
      { where: { id: factor.id, [Op.or]: [{ lastUsedStep: null }, { lastUsedStep: { [Op.lt]: result.timeStep } }] }, transaction },
    );
    return updated === 1;
  }

  /** Re-encrypts a secret under the current data key (key rotation); false when it already was. */
  async reencrypt(factor: Pick<TotpFactorModel, 'id' | 'secretEncrypted'>): Promise<boolean> {
    if (!this.cipher.needsRotation(factor.secretEncrypted)) return false;
    const secret = this.cipher.decrypt(factor.secretEncrypted, secretContext(factor.id));
    const [updated] = await this.models.TotpFactor.update(
      { secretEncrypted: this.cipher.encrypt(secret, secretContext(factor.id)) },
      { where: { id: factor.id, secretEncrypted: factor.secretEncrypted } },
    );
    return updated === 1;
  }
}
