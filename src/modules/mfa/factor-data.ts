import type { Sequelize } from 'sequelize';
import type { Models } from '../../models/index.js';

type FactorModels = Pick<Models, 'TotpFactor' | 'RecoveryCode' | 'Passkey' | 'WebauthnChallenge'>;

/**
 * A person's second factors as data: what the GDPR export shows (names and dates, never a
 * secret, public key or hash) and the admin reset that removes them all. Deleting the
 * account removes them with it (ON DELETE CASCADE).
 */
export function factorData(sequelize: Sequelize, models: FactorModels) {
  return {
    async exportFor(userId: string) {
      const [factor, passkeys, codes] = await Promise.all([
        models.TotpFactor.findOne({ where: { userId } }),
        models.Passkey.findAll({ where: { userId }, order: [['createdAt', 'ASC']] }),
        models.RecoveryCode.findAll({ where: { userId }, attributes: ['usedAt'] }),
      ]);
      return {
        totp: factor && { confirmedAt: factor.confirmedAt?.toISOString() ?? null, lastUsedAt: factor.lastUsedAt?.toISOString() ?? null, createdAt: factor.createdAt.toISOString() },
        passkeys: passkeys.map((passkey) => ({
          name: passkey.name,
          deviceType: passkey.deviceType,
          backedUp: passkey.backedUp,
          createdAt: passkey.createdAt.toISOString(),
          lastUsedAt: passkey.lastUsedAt?.toISOString() ?? null,
        })),
        recoveryCodes: { total: codes.length, remaining: codes.filter((code) => code.usedAt === null).length },
      };
    },

    /** Removes every second factor of the person in one transaction; what was removed. */
    async removeAll(userId: string) {
      return sequelize.transaction(async (transaction) => {
        const totp = await models.TotpFactor.destroy({ where: { userId }, transaction });
        const passkeys = await models.Passkey.destroy({ where: { userId }, transaction });
        const recoveryCodes = await models.RecoveryCode.destroy({ where: { userId }, transaction });
        await models.WebauthnChallenge.destroy({ where: { userId }, transaction });
        return { totp: totp > 0, passkeys, recoveryCodes };
      });
    },
  };
}
