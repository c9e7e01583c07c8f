import type { Infra } from '../../context.js';
import type { SecurityEventsModule } from '../security-events/index.js';
import type { UsersModule } from '../users/index.js';
import { factorData } from './factor-data.js';
import { factorRules } from './factor-rules.js';
import { factorCounts, methodsOf, mfaPolicy } from './factors.js';
import { mfaRoutes } from './mfa.routes.js';
import { passkeyRoutes } from './passkeys.routes.js';
import { createPasskeys } from './passkeys.service.js';
import { createMfaService } from './mfa.service.js';
import { RecoveryCodes } from './recovery-codes.js';
import { TotpFactors } from './totp.js';
import { WebauthnChallenges } from './webauthn-challenges.js';

export { recoveryCode, resetFactorsResponse, resetFactorsSchema, secondFactorsExport, totpCode } from './mfa.schemas.js';
export { authenticationOptionsResponse, authenticationResponse, type AuthenticationResponse } from './passkeys.schemas.js';
export type { SecondFactorMethod } from './factors.js';
export { rotateTotpSecrets } from './totp-rotation.js';

/**
 * Second factors (`totp_factors`, `recovery_codes`, `passkeys`, `webauthn_challenges`):
 * enrolling and managing them, and checking a code or a passkey for the sign-in flows of
 * the auth module, which calls these exports.
 */
export function createMfaModule(
  infra: Pick<Infra, 'config' | 'sequelize' | 'models' | 'cipher'>,
  deps: {
    users: Pick<UsersModule, 'accounts'>;
    securityEvents: Pick<SecurityEventsModule, 'recorder'>;
    /** Provider identities of an account (the passwordless module, built after this one, answers it). */
    identities?: (userId: string) => Promise<number>;
  },
) {
  const { config, sequelize, models, cipher } = infra;
  const policy = mfaPolicy(config.mfa.requiredRoles);
  const totp = new TotpFactors(models, cipher);
  const recoveryCodes = new RecoveryCodes(models, config.secrets.authSecret);
  const rules = factorRules({ sequelize, accounts: deps.users.accounts, policy, recoveryCodes, identities: deps.identities });
  const events = deps.securityEvents.recorder;
  const service = createMfaService({ sequelize, accounts: deps.users.accounts, totp, recoveryCodes, rules, policy, events });
  const challenges = new WebauthnChallenges(models);
  const passkeys = createPasskeys({ config, sequelize, models, accounts: deps.users.accounts, challenges, rules, events });

  return {
    routes: [...mfaRoutes(service), ...passkeyRoutes(passkeys)],
    policy,
    /** For sign-in: the ways a person's second step can be done (none: a password is enough). */
    methodsOf: async (userId: string) => methodsOf(await factorCounts(sequelize, userId)),
    /** A current, unused code of the person's confirmed authenticator app; a match is used up. */
    async acceptTotp(userId: string, code: string): Promise<boolean> {
      const factor = await totp.find(userId);
      return factor?.confirmedAt ? totp.accept(factor, code) : false;
    },
    /** Uses up one recovery code; how many are left, or undefined for a code that is not one. */
    useRecoveryCode: (userId: string, code: string) => recoveryCodes.use(userId, code),
    /** Sign-in and reauthentication with a passkey: the options, and the owner of a passkey that signed them. */
    passkeyAssertions: { options: passkeys.authenticationOptions, verify: passkeys.verifyAssertion },
    /** For the GDPR export, and the admin reset (which removes them all). */
    factors: factorData(sequelize, models),
    retentionJobs: { 'purge-webauthn-challenges': challenges.retentionJob },
  };
}

export type MfaModule = ReturnType<typeof createMfaModule>;
