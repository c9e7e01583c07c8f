import type { Sequelize, Transaction } from 'sequelize';
import { AppError } from '../../errors/app-error.js';
import { hasPassword, type UserAccounts } from '../users/index.js';
import { factorCounts, hasSecondFactor, type MfaPolicy } from './factors.js';
import type { RecoveryCodes } from './recovery-codes.js';

/**
 * What holds for every second factor: the last one of a person whose role requires a second
 * factor cannot be removed (their every sign-in would be an enrolment-only session, and
 * they would have no full way in left); and when the last one goes, the recovery codes go
 * with it, so that old codes do not silently come back with a later factor.
 */
export function factorRules(deps: {
  sequelize: Sequelize;
  accounts: Pick<UserAccounts, 'findById'>;
  policy: MfaPolicy;
  recoveryCodes: RecoveryCodes;
  /** How many OpenID provider identities sign in to the account (the passwordless module's). */
  identities?: (userId: string) => Promise<number>;
}) {
  return {
    /**
     * A passkey is a way in by itself: the last one of an account without a password and
     * without a provider identity cannot be removed (the person would rely on magic links unawares).
     */
    async assertNotLastWayIn(userId: string): Promise<void> {
      if ((await factorCounts(deps.sequelize, userId)).passkeys > 1) return;
      const user = await deps.accounts.findById(userId);
      if (!user || hasPassword(user) || ((await deps.identities?.(userId)) ?? 0) > 0) return;
      throw AppError.conflict('LAST_SIGN_IN_METHOD', 'This passkey is the last way this account signs in: add a password or link a provider before removing it.');
    },

    async assertRemovable(userId: string): Promise<void> {
      const counts = await factorCounts(deps.sequelize, userId);
      if (counts.totp + counts.passkeys > 1) return;
      const user = await deps.accounts.findById(userId);
      if (user && deps.policy.requiredFor(user.role)) {
        throw AppError.conflict('LAST_SECOND_FACTOR', 'Your role requires a second factor: add another one before removing this one.');
      }
    },

    async afterRemoval(userId: string, transaction?: Transaction): Promise<void> {
      if (!hasSecondFactor(await factorCounts(deps.sequelize, userId, transaction))) await deps.recoveryCodes.remove(userId, transaction);
    },
  };
}

export type FactorRules = ReturnType<typeof factorRules>;
