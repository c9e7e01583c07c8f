import { createHmac, randomInt } from 'node:crypto';
import type { Transaction } from 'sequelize';
import { deriveKey } from '../../crypto/secret-box.js';
import type { Models } from '../../models/index.js';

export const RECOVERY_CODE_COUNT = 10;
/** Crockford's base32: no i, l, o or u, so a code read aloud or copied by hand survives. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const GROUPS = 3;
const GROUP_LENGTH = 4; // 3 × 4 characters × 5 bits = 60 bits each

/** What a person types, as the code it stands for: case, spaces and dashes do not matter; i, l → 1 and o → 0. */
export function normaliseRecoveryCode(input: string): string {
  return input.toLowerCase().replace(/[\s-]/g, '').replace(/[il]/g, '1').replace(/o/g, '0');
}

function newCode(): string {
  const groups = Array.from({ length: GROUPS }, () => Array.from({ length: GROUP_LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join(''));
  return groups.join('-');
}

/**
 * Ten single-use codes for when the authenticator is lost. Only an HMAC of each (keyed from
 * AUTH_SECRET, over the user and the code) is stored, so a database dump alone cannot be
 * searched for them; using one is a conditional update that exactly one request wins.
 */
export class RecoveryCodes {
  private readonly key: Buffer;

  constructor(
    private readonly models: Pick<Models, 'RecoveryCode'>,
    authSecret: string,
  ) {
    this.key = deriveKey(authSecret, 'recovery-codes');
  }

  private hash(userId: string, code: string): string {
    return createHmac('sha256', this.key).update(`${userId}:${normaliseRecoveryCode(code)}`).digest('hex');
  }

  /** A new set of codes, shown once; every earlier code of the person stops working. */
  async replace(userId: string, transaction?: Transaction): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
    await this.models.RecoveryCode.destroy({ where: { userId }, transaction });
    await this.models.RecoveryCode.bulkCreate(codes.map((code) => ({ userId, codeHash: this.hash(userId, code) })), { transaction });
    return codes;
  }

  /** Uses a code up; the number of codes left, or undefined when it is not an unused code of this person. */
  async use(userId: string, code: string): Promise<number | undefined> {
    const [used] = await this.models.RecoveryCode.update({ usedAt: new Date() }, { where: { userId, codeHash: this.hash(userId, code), usedAt: null } });
    if (used !== 1) return undefined;
    return this.models.RecoveryCode.count({ where: { userId, usedAt: null } });
  }

  remove(userId: string, transaction?: Transaction): Promise<number> {
    return this.models.RecoveryCode.destroy({ where: { userId }, transaction });
  }
}
