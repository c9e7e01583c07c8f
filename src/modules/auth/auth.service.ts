import { UniqueConstraintError } from 'sequelize';
import type { Config } from '../../config/env.js';
import { AppError } from '../../errors/app-error.js';
import { dummyPasswordHash, needsRehash, passwordProblems, type PasswordHasher } from '../../crypto/passwords.js';
import { isBusy } from '../../infra/work-limiter.js';
import type { Models } from '../../models/index.js';
import type { ConsentModule } from '../consent/index.js';
import type { SecondFactorMethod } from '../mfa/index.js';
import { hasPassword, type UserAccounts } from '../users/index.js';
import { publicUser, type Role, type UserModel } from '../../models/user.model.js';
import type { SecurityEventRecorder } from '../security-events/index.js';
import type { AuthSessions } from './auth-sessions.js';
import type { LoginInput, RegisterInput } from './auth.schemas.js';
import type { SessionIssuer } from './session-issuer.js';
import { loginThrottled, type LoginThrottle } from './login-throttle.js';
import { RefreshTokens } from './refresh-tokens.js';

/** What happens after a right password: a challenge for the second factor, or a session (maybe enrolment-only). */
export interface SecondStep {
  afterPassword(user: UserModel, login: Pick<LoginInput, 'transport' | 'rememberMe'>): Promise<{ challenge: MfaChallenge } | { enrolmentOnly: boolean }>;
  /** Whether a session of this person may only enrol a second factor (their role requires one and they have none). */
  enrolmentOnly(user: { id: string; role: Role }): Promise<boolean>;
}

export interface MfaChallenge {
  mfaRequired: true;
  challenge: string;
  methods: SecondFactorMethod[];
}

export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
}

/** Mail that registration triggers; it works in the background so both answers take the same time. */
export interface AccountNotifier {
  accountCreated(user: UserModel): void;
  registrationAttempted(existing: UserModel): void;
}

export interface AuthDeps {
  config: Pick<Config, 'tokens' | 'requireEmailVerification'>;
  models: Pick<Models, 'AuthSession'>;
  /** The accounts, owned by the users module. */
  accounts: UserAccounts;
  passwords: PasswordHasher;
  refreshTokens: RefreshTokens;
  issuer: SessionIssuer;
  sessions: AuthSessions;
  throttle: LoginThrottle;
  /** A password is the whole sign-in, or the first step of one that needs a second factor. */
  secondStep: SecondStep;
  events: SecurityEventRecorder;
  notifier?: AccountNotifier;
  /** The documents a new account must accept, and their record (the consent module). */
  consents: Pick<ConsentModule, 'assertCoversCurrent' | 'give'>;
}

const HOUR_MS = 3_600_000;

const invalidCredentials = () => AppError.unauthorized('INVALID_CREDENTIALS', 'The email or password is incorrect.');
const invalidRefresh = () => AppError.unauthorized('INVALID_REFRESH_TOKEN', 'The refresh token is not valid; sign in again.');

/** What refuses a person whose credentials were right: a disabled account, an unverified email (when required). */
export function assertMaySignIn(user: UserModel, config: Pick<Config, 'requireEmailVerification'>, events: SecurityEventRecorder, meta: RequestMeta): void {
  if (user.disabledAt) {
    events.record({ type: 'login_failure', userId: user.id, ...meta, metadata: { reason: 'disabled' } });
    throw AppError.forbidden('ACCOUNT_DISABLED', 'This account is disabled.');
  }
  if (config.requireEmailVerification && !user.emailVerifiedAt) {
    events.record({ type: 'login_failure', userId: user.id, ...meta, metadata: { reason: 'email_not_verified' } });
    throw AppError.forbidden('EMAIL_NOT_VERIFIED', 'Verify your email address before signing in.');
  }
}

export function createAuthService(deps: AuthDeps) {
  const { config, models, events, issuer } = deps;
  const { absoluteEnd, slidingExpiry } = issuer;

  async function reuseDetected(sessionId: string, userId: string, meta: RequestMeta): Promise<never> {
    await deps.sessions.revoke({ id: sessionId }, 'token_reuse');
    events.record({ type: 'token_reuse_detected', userId, ...meta, metadata: { sessionId } });
    throw AppError.unauthorized('REFRESH_TOKEN_REUSED', 'This refresh token was already used; the session has been ended.');
  }

  /** Stronger parameters for an old hash; when hashing is busy it waits for a later sign-in. */
  async function rehash(user: UserModel, password: string): Promise<void> {
    try {
      await deps.accounts.setPasswordHash(user.id, await deps.passwords.hash(password));
    } catch (error) {
      if (!isBusy(error)) throw error;
    }
  }

  async function logout(sessionId: string, userId: string, meta: RequestMeta): Promise<void> {
    const ended = await deps.sessions.revoke({ id: sessionId, userId }, 'logout');
    if (ended.length > 0) events.record({ type: 'logout', userId, ...meta, metadata: { sessionId } });
  }

  return {
    /** Same status, body and (one argon2 hash) cost whether or not the email is taken. */
    async register(input: RegisterInput, meta: RequestMeta): Promise<void> {
      const problems = passwordProblems(input.password, input);
      if (problems.length > 0) throw AppError.validation(problems);
      deps.consents.assertCoversCurrent(input.consents);
      const passwordHash = await deps.passwords.hash(input.password);
      const existing = await deps.accounts.findByEmail(input.email);
      if (existing) {
        deps.notifier?.registrationAttempted(existing);
        return;
      }
      try {
        const user = await deps.accounts.create({ email: input.email, name: input.name, passwordHash });
        events.record({ type: 'account_created', userId: user.id, ...meta });
        await deps.consents.give(user.id, input.consents, meta);
        deps.notifier?.accountCreated(user);
      } catch (error) {
        if (!(error instanceof UniqueConstraintError)) throw error; // a concurrent registration won: same answer
      }
    },

    /** One argon2 verification and at most three queries (user, second factors, session or challenge insert), plus a rare rehash. */
    async login(input: LoginInput, meta: RequestMeta) {
      const waitS = await deps.throttle.retryAfterS(input.email);
      if (waitS > 0) {
        events.record({ type: 'rate_limited', ...meta, metadata: { scope: 'login_account' } });
        throw loginThrottled(waitS);
      }
      const user = await deps.accounts.findByEmail(input.email);
      // An account without a password costs the same one hash as an unknown address, and never matches.
      const passwordOk = await deps.passwords.verify(user && hasPassword(user) ? user.passwordHash : await dummyPasswordHash(), input.password);
      if (!user || !passwordOk || !hasPassword(user)) {
        const failures = await deps.throttle.failed(input.email);
        events.record({ type: 'login_failure', userId: user?.id ?? null, ...meta, metadata: { failures } });
        if (failures === 6) events.record({ type: 'suspicious_activity', userId: user?.id ?? null, ...meta, metadata: { reason: 'repeated_login_failures' } });
        throw invalidCredentials();
      }
      assertMaySignIn(user, config, events, meta);
      if (needsRehash(user.passwordHash)) await rehash(user, input.password);
      // With a second factor the password only opens a challenge: the failure count stays until the factor is done too.
      const next = await deps.secondStep.afterPassword(user, input);
      if ('challenge' in next) return next.challenge;
      await deps.throttle.succeeded(input.email);
      return issuer.open(user, { rememberMe: input.rememberMe, method: 'password', enrolmentOnly: next.enrolmentOnly }, meta);
    },

    /**
     * Rotation with reuse detection: the current token rotates; the one before it is
     * accepted for REFRESH_REUSE_GRACE_S (two tabs) and yields the same new token; any
     * older genuine token of the session is reuse and ends it. A token this server did not
     * make is simply refused.
     */
    async refresh(token: string, meta: RequestMeta) {
      const presented = RefreshTokens.parse(token);
      if (!presented) throw invalidRefresh();
      const session = await models.AuthSession.findByPk(presented.sessionId);
      const user = session && (await deps.accounts.findById(session.userId));
      if (!session || !user || session.revokedAt) throw invalidRefresh();
      // The absolute end also stops sessions whose expiry slid past it before it existed.
      if (Math.min(session.expiresAt.getTime(), absoluteEnd(session)) <= Date.now()) throw invalidRefresh();
      if (!session.refreshSeed || !deps.refreshTokens.genuine(presented, session.refreshSeed)) throw invalidRefresh();
      if (user.disabledAt) {
        await deps.sessions.revoke({ id: session.id }, 'user_disabled');
        throw invalidRefresh();
      }

      const tokenOf = (generation: number) => deps.refreshTokens.token(session.id, generation, session.refreshSeed!);
      if (presented.generation === session.generation) {
        const now = new Date();
        const next = tokenOf(presented.generation + 1);
        const slidTo = slidingExpiry(session, now);
        // Extended at most once an hour of activity; cut back at once when it lies past the absolute end.
        const extend = slidTo < session.expiresAt || slidTo.getTime() - session.expiresAt.getTime() >= HOUR_MS;
        const [updated] = await models.AuthSession.update(
          {
            refreshTokenHash: RefreshTokens.hash(next),
            previousTokenHash: RefreshTokens.hash(token),
            rotatedAt: now,
            generation: presented.generation + 1,
            lastUsedAt: now,
            ...(extend && { expiresAt: slidTo }),
          },
          { where: { id: session.id, generation: presented.generation, revokedAt: null } },
        );
        if (updated === 1) {
          events.record({ type: 'token_refresh', userId: user.id, ...meta, metadata: { sessionId: session.id } });
          return issuer.tokensFor(user, { ...session.get({ plain: true }), ...(extend && { expiresAt: slidTo }) }, next, await deps.secondStep.enrolmentOnly(user));
        }
        await session.reload(); // a concurrent refresh rotated it first: fall through to the grace check
      }

      const withinGrace =
        presented.generation === session.generation - 1 &&
        session.rotatedAt !== null &&
        Date.now() - session.rotatedAt.getTime() <= config.tokens.refreshReuseGraceS * 1000;
      if (withinGrace) return issuer.tokensFor(user, session, tokenOf(session.generation), await deps.secondStep.enrolmentOnly(user));
      if (presented.generation < session.generation) return reuseDetected(session.id, user.id, meta);
      throw invalidRefresh();
    },

    logout,

    /** Logout without an access token: the refresh token itself (current or just replaced) proves the session. */
    async logoutWithRefreshToken(token: string, meta: RequestMeta): Promise<void> {
      const presented = RefreshTokens.hash(token);
      const sessionId = RefreshTokens.parse(token)?.sessionId;
      const session = sessionId ? await models.AuthSession.findByPk(sessionId) : null;
      if (!session || (presented !== session.refreshTokenHash && presented !== session.previousTokenHash)) throw invalidRefresh();
      await logout(session.id, session.userId, meta);
    },

    async logoutAll(userId: string, meta: RequestMeta): Promise<number> {
      const ended = await deps.sessions.revoke({ userId }, 'logout_all');
      events.record({ type: 'logout', userId, ...meta, metadata: { all: true, sessions: ended.length } });
      return ended.length;
    },

    async me(userId: string) {
      const user = await deps.accounts.findById(userId);
      if (!user) throw AppError.notFound('user');
      return publicUser(user);
    },

    async listSessions(userId: string, currentSessionId: string) {
      const rows = await deps.sessions.listActive(userId);
      return rows.map((row) => ({
        id: row.id,
        userAgent: row.userAgent,
        ip: row.ip,
        rememberMe: row.rememberMe,
        createdAt: row.createdAt.toISOString(),
        lastUsedAt: row.lastUsedAt.toISOString(),
        expiresAt: row.expiresAt.toISOString(),
        current: row.id === currentSessionId,
      }));
    },

    async revokeSession(userId: string, sessionId: string, meta: RequestMeta): Promise<void> {
      const ended = await deps.sessions.revoke({ id: sessionId, userId }, 'revoked_by_user');
      if (ended.length === 0) throw AppError.notFound('session');
      events.record({ type: 'session_revoked', userId, ...meta, metadata: { sessionId } });
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
