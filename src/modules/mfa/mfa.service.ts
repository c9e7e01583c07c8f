import type { Sequelize } from 'sequelize';
import { AppError } from '../../errors/app-error.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { Role } from '../../models/user.model.js';
import type { SecurityEventRecorder } from '../security-events/index.js';
import type { UserAccounts } from '../users/index.js';
import type { FactorRules } from './factor-rules.js';
import { factorCounts, hasSecondFactor, type MfaPolicy } from './factors.js';
import type { RecoveryCodes } from './recovery-codes.js';
import type { TotpFactors } from './totp.js';

export interface MfaServiceDeps {
  sequelize: Sequelize;
  accounts: Pick<UserAccounts, 'findById'>;
  totp: TotpFactors;
  recoveryCodes: RecoveryCodes;
  rules: FactorRules;
  policy: MfaPolicy;
  events: SecurityEventRecorder;
}

const invalidCode = () => AppError.badRequest('INVALID_MFA_CODE', 'The code is not valid; enter the current code from your authenticator app.');

/** Enrolling and managing the authenticator app and the recovery codes of the caller. */
export function createMfaService(deps: MfaServiceDeps) {
  const { totp, recoveryCodes, events } = deps;

  return {
    async status(userId: string, role: Role) {
      const [counts, factor] = await Promise.all([factorCounts(deps.sequelize, userId), totp.find(userId)]);
      return {
        required: deps.policy.requiredFor(role),
        totp: { enabled: counts.totp > 0, confirmedAt: factor?.confirmedAt?.toISOString() ?? null },
        passkeys: counts.passkeys,
        recoveryCodesRemaining: counts.recoveryCodes,
      };
    },

    /** A new secret, its otpauth:// URI and QR code; nothing changes until a code confirms it. */
    async setupTotp(userId: string) {
      const user = await deps.accounts.findById(userId);
      if (!user) throw AppError.notFound('user');
      const existing = await totp.find(userId);
      if (existing?.confirmedAt) throw AppError.conflict('TOTP_ALREADY_ENABLED', 'An authenticator app is already set up; remove it first to set up another.');
      return totp.begin(user, existing);
    },

    /** The first code proves the app holds the secret: the factor is on and ten recovery codes are shown, once. */
    async confirmTotp(userId: string, code: string, meta: RequestMeta) {
      const factor = await totp.find(userId);
      if (!factor) throw AppError.conflict('TOTP_SETUP_REQUIRED', 'Start with POST /api/auth/mfa/totp/setup.');
      if (factor.confirmedAt) throw AppError.conflict('TOTP_ALREADY_ENABLED', 'The authenticator app is already confirmed.');
      if (!(await totp.accept(factor, code))) throw invalidCode();
      const codes = await deps.sequelize.transaction(async (transaction) => {
        await factor.update({ confirmedAt: new Date() }, { transaction });
        return recoveryCodes.replace(userId, transaction);
      });
      events.record({ type: 'mfa_enabled', userId, ...meta, metadata: { method: 'totp' } });
      return { recoveryCodes: codes };
    },

    async disableTotp(userId: string, meta: RequestMeta): Promise<void> {
      const factor = await totp.find(userId);
      if (!factor) throw AppError.notFound('authenticator app');
      if (factor.confirmedAt) await deps.rules.assertRemovable(userId);
      await deps.sequelize.transaction(async (transaction) => {
        await factor.destroy({ transaction });
        await deps.rules.afterRemoval(userId, transaction);
      });
      if (factor.confirmedAt) events.record({ type: 'mfa_disabled', userId, ...meta, metadata: { method: 'totp' } });
    },

    /** A new set of ten; the old set stops working. Only for a person with a second factor. */
    async regenerateRecoveryCodes(userId: string, meta: RequestMeta) {
      if (!hasSecondFactor(await factorCounts(deps.sequelize, userId))) {
        throw AppError.conflict('MFA_NOT_ENABLED', 'Recovery codes stand in for a second factor: set one up first.');
      }
      const codes = await recoveryCodes.replace(userId);
      events.record({ type: 'recovery_codes_regenerated', userId, ...meta });
      return { recoveryCodes: codes };
    },
  };
}

export type MfaService = ReturnType<typeof createMfaService>;
