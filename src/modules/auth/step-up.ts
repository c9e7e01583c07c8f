import type { PasswordHasher } from '../../crypto/passwords.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { Actor } from '../../http/route.js';
import type { Models } from '../../models/index.js';
import type { AuthenticationResponse, MfaModule } from '../mfa/index.js';
import type { SecurityEventRecorder } from '../security-events/index.js';
import { hasPassword, type UserAccounts } from '../users/index.js';
import { loginThrottled, type LoginThrottle } from './login-throttle.js';

/** Sensitive actions need the person to have proved who they are this recently. */
export const STEP_UP_WINDOW_MS = 5 * 60_000;

export type ReauthenticationMethod = 'password' | 'totp' | 'passkey' | 'magic_link';

/** Proves the person with one method; the passkey check is the passkey ceremony's (it consumes its challenge). */
export type ReauthenticationProof = { password: string } | { code: string } | { passkey: AuthenticationResponse };

export interface StepUpDeps {
  models: Pick<Models, 'AuthSession'>;
  accounts: Pick<UserAccounts, 'findById'>;
  passwords: PasswordHasher;
  throttle: LoginThrottle;
  mfa: Pick<MfaModule, 'methodsOf' | 'acceptTotp'>;
  /** Whether a passkey assertion is a valid one of this user's passkeys (set once passkeys exist). */
  verifyPasskey?: (userId: string, response: AuthenticationResponse, meta: RequestMeta) => Promise<boolean>;
  events: SecurityEventRecorder;
}

/**
 * Step-up (docs/DESIGN.md §5.8): deleting the account, changing the password, removing a
 * second factor and replacing recovery codes need an authentication in this login session
 * within the last 5 minutes: the sign-in itself, or POST /api/auth/reauthenticate. The time
 * is kept in the session row, so it holds for every token of the session and ends with it.
 */
export function createStepUp(deps: StepUpDeps) {
  async function methodsFor(userId: string): Promise<ReauthenticationMethod[]> {
    const factors = await deps.mfa.methodsOf(userId);
    const user = await deps.accounts.findById(userId);
    // Every account has its address: a magic link (POST /api/auth/magic-link/reauthenticate) works without a password too.
    return [...(user && hasPassword(user) ? ['password' as const] : []), ...factors.filter((method): method is 'totp' | 'passkey' => method !== 'recovery_code'), 'magic_link'];
  }

  async function prove(proof: ReauthenticationProof, user: { id: string; passwordHash: string }, meta: RequestMeta) {
    if ('password' in proof) return { method: 'password' as const, proven: await deps.passwords.verify(user.passwordHash, proof.password) };
    if ('code' in proof) return { method: 'totp' as const, proven: await deps.mfa.acceptTotp(user.id, proof.code) };
    return { method: 'passkey' as const, proven: deps.verifyPasskey !== undefined && (await deps.verifyPasskey(user.id, proof.passkey, meta)) };
  }

  /** The session proved who it is now (with `method`): sensitive actions are open for the next 5 minutes. */
  async function renew(actor: Actor, method: ReauthenticationMethod, meta: RequestMeta) {
    const authenticatedAt = new Date();
    await deps.models.AuthSession.update({ authenticatedAt }, { where: { id: actor.sessionId, userId: actor.userId } });
    deps.events.record({ type: 'reauthenticated', userId: actor.userId, ...meta, metadata: { sessionId: actor.sessionId, method } });
    return { authenticatedAt: authenticatedAt.toISOString(), validUntil: new Date(authenticatedAt.getTime() + STEP_UP_WINDOW_MS).toISOString() };
  }

  return {
    /** Throws 401 REAUTHENTICATION_REQUIRED, naming the caller's methods, unless the session authenticated within the window. */
    async require(actor: Actor): Promise<void> {
      const session = await deps.models.AuthSession.findByPk(actor.sessionId, { attributes: ['authenticatedAt'] });
      const at = session?.authenticatedAt?.getTime();
      if (at !== undefined && Date.now() - at <= STEP_UP_WINDOW_MS) return;
      const methods = await methodsFor(actor.userId);
      throw new AppError(401, 'REAUTHENTICATION_REQUIRED', 'Unauthorized', {
        detail: 'This needs a recent sign-in: confirm it is you with POST /api/auth/reauthenticate, then try again.',
        headers: { 'WWW-Authenticate': `Bearer error="insufficient_user_authentication", max_age=${STEP_UP_WINDOW_MS / 1000}` },
        extensions: { methods },
      });
    },

    /** A password, a current authenticator code or a passkey renews the session's authentication time. */
    async reauthenticate(actor: Actor, proof: ReauthenticationProof, meta: RequestMeta) {
      const user = await deps.accounts.findById(actor.userId);
      if (!user) throw AppError.notFound('user');
      const waitS = await deps.throttle.retryAfterS(user.email);
      if (waitS > 0) throw loginThrottled(waitS);
      const { method, proven } = await prove(proof, user, meta);
      if (!proven) {
        const failures = await deps.throttle.failed(user.email);
        if (method === 'password') deps.events.record({ type: 'login_failure', userId: user.id, ...meta, metadata: { reason: 'reauthenticate', failures } });
        else deps.events.record({ type: 'mfa_challenge_failed', userId: user.id, ...meta, metadata: { method, purpose: 'reauthenticate', failures } });
        throw AppError.forbidden('REAUTHENTICATION_FAILED', 'That did not prove who you are; try again.');
      }
      await deps.throttle.succeeded(user.email);
      return renew(actor, method, meta);
    },

    renew,
  };
}

export type StepUp = ReturnType<typeof createStepUp>;
