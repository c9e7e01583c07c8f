import type { Config } from '../../config/env.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { AuthenticationResponse, MfaModule } from '../mfa/index.js';
import type { SecurityEventRecorder } from '../security-events/index.js';
import type { UserAccounts } from '../users/index.js';
import { assertMaySignIn, type SecondStep } from './auth.service.js';
import type { LoginChallenges } from './login-challenges.js';
import { loginThrottled, type LoginThrottle } from './login-throttle.js';
import type { SessionIssuer } from './session-issuer.js';

export interface MfaLoginDeps {
  config: Pick<Config, 'requireEmailVerification'>;
  mfa: Pick<MfaModule, 'methodsOf' | 'acceptTotp' | 'useRecoveryCode' | 'policy' | 'passkeyAssertions'>;
  challenges: LoginChallenges;
  accounts: Pick<UserAccounts, 'findById'>;
  throttle: LoginThrottle;
  issuer: SessionIssuer;
  events: SecurityEventRecorder;
}

export interface MfaVerifyInput {
  challenge: string;
  code?: string;
  recoveryCode?: string;
}

const invalidChallenge = () => AppError.unauthorized('INVALID_MFA_CHALLENGE', 'This sign-in challenge is invalid, expired or used up; sign in again.');

/**
 * The second step of a password sign-in (docs/DESIGN.md §5.8). A right password of an
 * account with a second factor opens a challenge instead of a session; the challenge is
 * completed with a code from the authenticator app or a recovery code. Wrong codes count
 * in the account's login slowing like wrong passwords, and a right password does not
 * clear that count until the second step is done.
 */
export function createMfaLogin(deps: MfaLoginDeps) {
  const { mfa, challenges, throttle, events } = deps;

  const secondStep: SecondStep = {
    async afterPassword(user, login) {
      const methods = await mfa.methodsOf(user.id);
      if (methods.length === 0) return { enrolmentOnly: mfa.policy.requiredFor(user.role) };
      const challenge = await challenges.issue(user.id, login);
      return { challenge: { mfaRequired: true, challenge, methods } };
    },

    async enrolmentOnly(user) {
      return mfa.policy.requiredFor(user.role) && (await mfa.methodsOf(user.id)).length === 0;
    },
  };

  async function verify(input: MfaVerifyInput, meta: RequestMeta) {
    const challenge = await challenges.find(input.challenge);
    const user = challenge && (await deps.accounts.findById(challenge.userId));
    if (!challenge || !user || user.disabledAt) throw invalidChallenge();
    const waitS = await throttle.retryAfterS(user.email);
    if (waitS > 0) {
      events.record({ type: 'rate_limited', userId: user.id, ...meta, metadata: { scope: 'login_account' } });
      throw loginThrottled(waitS);
    }
    if (!(await challenges.claimAttempt(challenge))) throw invalidChallenge();

    const method = input.code !== undefined ? ('totp' as const) : ('recovery_code' as const);
    const remainingCodes = input.code !== undefined ? undefined : await mfa.useRecoveryCode(user.id, input.recoveryCode!);
    const accepted = input.code !== undefined ? await mfa.acceptTotp(user.id, input.code) : remainingCodes !== undefined;
    if (!accepted) {
      const failures = await throttle.failed(user.email);
      const attemptsLeft = challenges.attemptsLeft(challenge);
      events.record({ type: 'mfa_challenge_failed', userId: user.id, ...meta, metadata: { method, failures, attemptsLeft } });
      throw new AppError(401, 'INVALID_MFA_CODE', 'Unauthorized', {
        detail: attemptsLeft > 0 ? 'The code is not valid.' : 'The code is not valid, and this challenge is used up; sign in again.',
        extensions: { attemptsLeft },
      });
    }
    if (!(await challenges.consume(challenge))) throw invalidChallenge();
    await throttle.succeeded(user.email);
    if (method === 'recovery_code') events.record({ type: 'recovery_code_used', userId: user.id, ...meta, metadata: { remaining: remainingCodes } });
    const issued = await deps.issuer.open(user, { rememberMe: challenge.rememberMe, method }, meta);
    return { issued, transport: challenge.transport };
  }

  /**
   * Username-less sign-in: the passkey names its account, and with user verification it is
   * both factors at once, so it satisfies MFA_REQUIRED_ROLES and clears the login slowing.
   */
  async function passkeySignIn(input: { response: AuthenticationResponse; rememberMe: boolean }, meta: RequestMeta) {
    const owner = await mfa.passkeyAssertions.verify(input.response, meta);
    const user = owner && (await deps.accounts.findById(owner.userId));
    if (!owner || !user) {
      events.record({ type: 'login_failure', userId: owner?.userId ?? null, ...meta, metadata: { method: 'passkey' } });
      throw AppError.unauthorized('INVALID_PASSKEY', 'The passkey could not be verified; start again with new options.');
    }
    assertMaySignIn(user, deps.config, events, meta);
    await throttle.succeeded(user.email);
    return deps.issuer.open(user, { rememberMe: input.rememberMe, method: 'passkey' }, meta);
  }

  return { secondStep, verify, passkeySignIn };
}

export type MfaLogin = ReturnType<typeof createMfaLogin>;
