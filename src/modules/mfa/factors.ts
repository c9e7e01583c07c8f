import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { Role } from '../../models/user.model.js';

export type SecondFactor = 'totp' | 'passkey';
/** How a sign-in waiting for its second factor can be completed. */
export type SecondFactorMethod = SecondFactor | 'recovery_code';

export interface FactorCounts {
  totp: number;
  passkeys: number;
  recoveryCodes: number;
}

/** What second factors a person has, in one round trip (sign-in asks this of every password login). */
export async function factorCounts(sequelize: Sequelize, userId: string, transaction?: Transaction): Promise<FactorCounts> {
  const [row] = await sequelize.query<{ totp: number | string; passkeys: number | string; recovery: number | string }>(
    `SELECT
       (SELECT COUNT(*) FROM totp_factors WHERE user_id = :userId AND confirmed_at IS NOT NULL) AS totp,
       (SELECT COUNT(*) FROM passkeys WHERE user_id = :userId) AS passkeys,
       (SELECT COUNT(*) FROM recovery_codes WHERE user_id = :userId AND used_at IS NULL) AS recovery`,
    { replacements: { userId }, type: QueryTypes.SELECT, transaction },
  );
  return { totp: Number(row?.totp ?? 0), passkeys: Number(row?.passkeys ?? 0), recoveryCodes: Number(row?.recovery ?? 0) };
}

export function methodsOf(counts: FactorCounts): SecondFactorMethod[] {
  const methods: SecondFactorMethod[] = [];
  if (counts.totp > 0) methods.push('totp');
  if (counts.passkeys > 0) methods.push('passkey');
  if (methods.length > 0 && counts.recoveryCodes > 0) methods.push('recovery_code');
  return methods;
}

export const hasSecondFactor = (counts: FactorCounts) => counts.totp + counts.passkeys > 0;

/** MFA_REQUIRED_ROLES: people of these roles sign in with a second factor or may only enrol one. */
export function mfaPolicy(requiredRoles: readonly Role[]) {
  return { requiredFor: (role: Role) => requiredRoles.includes(role) };
}

export type MfaPolicy = ReturnType<typeof mfaPolicy>;
