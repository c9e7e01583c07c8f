import { randomUUID } from 'node:crypto';
import type { Config } from '../../config/env.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { Models } from '../../models/index.js';
import { publicUser, type UserModel } from '../../models/user.model.js';
import type { SecurityEventRecorder } from '../security-events/index.js';
import type { AccessTokens } from './access-tokens.js';
import { RefreshTokens } from './refresh-tokens.js';

/** How the person proved who they are when the session opened, as the security event records it. */
export type SignInMethod = 'password' | 'totp' | 'recovery_code' | 'passkey' | 'magic_link' | 'oidc';

const DAY_MS = 86_400_000;

/**
 * Opening login sessions and minting their tokens, for every way of signing in (password,
 * password and second factor, passkey) and for refresh. The row records when the person
 * authenticated, which sensitive actions check (step-up).
 */
export function createSessionIssuer(deps: {
  config: Pick<Config, 'tokens'>;
  models: Pick<Models, 'AuthSession'>;
  accessTokens: AccessTokens;
  refreshTokens: RefreshTokens;
  events: SecurityEventRecorder;
}) {
  const { config } = deps;

  /** A login session ends this long after sign-in, however active it is; then the person signs in again. */
  function absoluteEnd(session: { rememberMe: boolean; createdAt: Date }): number {
    const days = session.rememberMe ? config.tokens.rememberMeAbsoluteTtlDays : config.tokens.sessionAbsoluteTtlDays;
    return session.createdAt.getTime() + days * DAY_MS;
  }

  /** Each refresh slides the expiry by the session's TTL, but never past its absolute end. */
  function slidingExpiry(session: { rememberMe: boolean; createdAt: Date }, now: Date): Date {
    const days = session.rememberMe ? config.tokens.rememberMeTtlDays : config.tokens.sessionTtlDays;
    return new Date(Math.min(now.getTime() + days * DAY_MS, absoluteEnd(session)));
  }

  /** `enrolmentOnly`: the token admits only the routes that enrol a second factor (MFA_REQUIRED_ROLES). */
  async function tokensFor(user: UserModel, session: { id: string; expiresAt: Date; rememberMe: boolean }, refreshToken: string, enrolmentOnly = false) {
    const accessToken = await deps.accessTokens.sign({ userId: user.id, sessionId: session.id, role: user.role, enrolmentOnly });
    return {
      accessToken,
      tokenType: 'Bearer' as const,
      expiresIn: deps.accessTokens.ttlS,
      user: publicUser(user),
      session: { id: session.id, expiresAt: session.expiresAt.toISOString(), rememberMe: session.rememberMe },
      ...(enrolmentOnly && { mfaEnrolmentRequired: true as const }),
      refreshToken,
    };
  }

  return {
    absoluteEnd,
    slidingExpiry,
    tokensFor,

    /** One insert: the session, its first refresh token (only its hash is stored) and the time of authentication. */
    async open(user: UserModel, options: { rememberMe: boolean; method: SignInMethod; enrolmentOnly?: boolean }, meta: RequestMeta) {
      const sessionId = randomUUID();
      const refreshSeed = RefreshTokens.newSeed();
      const refreshToken = deps.refreshTokens.token(sessionId, 0, refreshSeed);
      const now = new Date();
      const session = await deps.models.AuthSession.create({
        id: sessionId,
        userId: user.id,
        refreshTokenHash: RefreshTokens.hash(refreshToken),
        refreshSeed,
        rememberMe: options.rememberMe,
        userAgent: meta.userAgent?.slice(0, 256) ?? null,
        ip: meta.ip,
        lastUsedAt: now,
        authenticatedAt: now,
        expiresAt: slidingExpiry({ rememberMe: options.rememberMe, createdAt: now }, now),
      });
      // A password alone is the default and goes unnamed, as before second factors existed.
      const metadata = { sessionId, rememberMe: options.rememberMe, ...(options.method !== 'password' && { method: options.method }), ...(options.enrolmentOnly && { enrolmentOnly: true }) };
      deps.events.record({ type: 'login_success', userId: user.id, ...meta, metadata });
      return tokensFor(user, session, refreshToken, options.enrolmentOnly);
    },
  };
}

export type SessionIssuer = ReturnType<typeof createSessionIssuer>;
export type IssuedTokens = Awaited<ReturnType<SessionIssuer['open']>>;
