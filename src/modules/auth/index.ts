import { Op } from 'sequelize';
import type { Infra } from '../../context.js';
import type { ConsentModule } from '../consent/index.js';
import { pseudonymiseIp } from '../../crypto/pseudonymise.js';
import { Background } from '../../infra/background.js';
import { retentionCutoff, tableJob, type RetentionJob } from '../../infra/retention.js';
import type { MfaModule } from '../mfa/index.js';
import type { SecurityEventsModule } from '../security-events/index.js';
import type { UsersModule } from '../users/index.js';
import { AccessTokens } from './access-tokens.js';
import { createAccountRecovery } from './account-recovery.service.js';
import { createAuthCookies } from './auth.cookies.js';
import { authRoutes, jwksRoutes } from './auth.routes.js';
import { AuthSessions } from './auth-sessions.js';
import { assertMaySignIn, createAuthService, type RequestMeta } from './auth.service.js';
import { tokenTransport } from './auth.transport.js';
import { bearerVerifier } from './bearer.js';
import { LoginChallenges } from './login-challenges.js';
import { LoginThrottle, SharedFailureStore } from './login-throttle.js';
import { mailTemplates } from './mail-templates.js';
import { createMfaLogin } from './mfa-login.service.js';
import { OneTimeTokens } from './one-time-tokens.js';
import { RefreshTokens } from './refresh-tokens.js';
import { RedisRevocationBus } from './revocation-bus.js';
import { SessionGuard } from './session-guard.js';
import { createSessionIssuer, type IssuedTokens } from './session-issuer.js';
import type { UserModel } from '../../models/user.model.js';
import type { Actor } from '../../http/route.js';
import { createStepUp } from './step-up.js';
import { SigningKeyStore } from './signing-keys.js';

export { InvalidTokenError } from './access-tokens.js';
export { loginSessionResponse } from './auth.schemas.js';
export type { RevocationReason } from './auth-sessions.js';
export { OneTimeTokens } from './one-time-tokens.js';
export { MemoryFailureStore, SharedFailureStore, type FailureStore } from './login-throttle.js';
export { loginResponse, mfaChallengeResponse, reauthenticatedResponse, tokenResponse } from './auth.schemas.js';
export type { MfaChallenge } from './auth.service.js';
export type { IssuedTokens } from './session-issuer.js';
export { RedisRevocationBus } from './revocation-bus.js';
export { SigningKeyStore, type KeyStatus } from './signing-keys.js';

/** Revoked sessions stay a day for the owner's session list and for investigating reuse. */
const REVOKED_SESSION_KEEP_DAYS = 1;

/**
 * Sign-in and the login sessions behind it (`auth_sessions`, `jwks`, `one_time_tokens`):
 * passwords, tokens, revocation, the mail flows of account recovery.
 */
export function createAuthModule(
  infra: Pick<Infra, 'config' | 'sequelize' | 'models' | 'shared' | 'mailer' | 'logger' | 'passwords' | 'sessionRecheckMs'>,
  deps: {
    users: Pick<UsersModule, 'accounts'>;
    securityEvents: Pick<SecurityEventsModule, 'recorder'>;
    mfa: Pick<MfaModule, 'methodsOf' | 'acceptTotp' | 'useRecoveryCode' | 'policy' | 'passkeyAssertions'>;
    consent: Pick<ConsentModule, 'assertCoversCurrent' | 'give'>;
  },
) {
  const { config, sequelize, models, shared, mailer, logger, passwords } = infra;
  const events = deps.securityEvents.recorder;
  const keys = SigningKeyStore.fromConfig(models, config);
  const accessTokens = new AccessTokens(keys, config);
  const guard = new SessionGuard(models, infra.sessionRecheckMs, shared && new RedisRevocationBus(shared));
  const sessions = new AuthSessions(models, guard);
  const background = new Background(logger, 'account mail flow');
  const cookies = createAuthCookies(config);
  const recovery = createAccountRecovery({
    config,
    sequelize,
    accounts: deps.users.accounts,
    passwords,
    tokens: new OneTimeTokens(sequelize, models, deps.users.accounts.lock),
    sessions,
    events,
    mailer,
    templates: mailTemplates(config.appUrl),
    background,
  });
  const refreshTokens = new RefreshTokens(config.secrets.authSecret);
  const throttle = new LoginThrottle(shared && new SharedFailureStore(shared));
  const issuer = createSessionIssuer({ config, models, accessTokens, refreshTokens, events });
  const mfaLogin = createMfaLogin({ config, mfa: deps.mfa, challenges: new LoginChallenges(models), accounts: deps.users.accounts, throttle, issuer, events });
  const stepUp = createStepUp({
    models,
    accounts: deps.users.accounts,
    passwords,
    throttle,
    mfa: deps.mfa,
    verifyPasskey: async (userId, response, meta) => (await deps.mfa.passkeyAssertions.verify(response, meta, { userId })) !== undefined,
    events,
  });
  const auth = createAuthService({
    config,
    models,
    accounts: deps.users.accounts,
    passwords,
    refreshTokens,
    issuer,
    sessions,
    throttle,
    secondStep: mfaLogin.secondStep,
    events,
    notifier: recovery.notifier,
    consents: deps.consent,
  });

  /**
   * The first factor proven another way than by password (a magic link, an OpenID provider):
   * the same checks, second step and session as after a right password.
   */
  async function signInProven(user: UserModel, options: { transport: 'cookie' | 'body'; rememberMe: boolean; method: 'magic_link' | 'oidc' }, meta: RequestMeta) {
    assertMaySignIn(user, config, events, meta);
    const next = await mfaLogin.secondStep.afterPassword(user, options);
    if ('challenge' in next) return next.challenge;
    return { issued: await issuer.open(user, { rememberMe: options.rememberMe, method: options.method, enrolmentOnly: next.enrolmentOnly }, meta), transport: options.transport };
  }

  return {
    routes: authRoutes({ auth, mfaLogin, stepUp, passkeyAssertions: deps.mfa.passkeyAssertions, recovery, cookies }),
    jwksRoutes: jwksRoutes(keys),
    keys,
    accessTokens,
    signInProven,
    /** Writes issued tokens in the chosen transport: the refresh token in the body, or in the HttpOnly cookie with a CSRF token. */
    deliver: (res: Parameters<ReturnType<typeof tokenTransport>['body']>[0], issued: IssuedTokens, transport: 'cookie' | 'body') => tokenTransport(cookies).body(res, issued, transport),
    /** For the pipeline's `authenticate` step. */
    verifyBearer: bearerVerifier({ accessTokens, guard, events }),
    /** Ends login sessions (every flow that does: admins, deletion, breach response) and refuses their tokens at once. */
    endSessions: sessions.revoke.bind(sessions),
    guard,
    /** For the route table: routes that declare `stepUp` need a recent authentication of the session. */
    stepUp: { require: stepUp.require },
    /** A proof the auth module does not check itself (a magic link to the caller's address) renews the session's authentication. */
    renewAuthentication: (actor: Actor, meta: RequestMeta) => stepUp.renew(actor, 'magic_link', meta),
    async loginSessionsForExport(userId: string) {
      const rows = await models.AuthSession.findAll({ where: { userId }, order: [['createdAt', 'ASC']] });
      return rows.map((session) => ({
        id: session.id,
        userAgent: session.userAgent,
        ip: pseudonymiseIp(session.ip),
        rememberMe: session.rememberMe,
        createdAt: session.createdAt.toISOString(),
        lastUsedAt: session.lastUsedAt.toISOString(),
        expiresAt: session.expiresAt.toISOString(),
        revokedAt: session.revokedAt?.toISOString() ?? null,
      }));
    },
    /** Mail flows answer first and work after the reply: shutdown and tests wait for them. */
    idle: () => background.idle(),
    retentionJobs: {
      'purge-login-sessions': tableJob('loginSessions', models.AuthSession, (now) => ({
        [Op.or]: [{ expiresAt: { [Op.lt]: now } }, { revokedAt: { [Op.lt]: retentionCutoff(now, REVOKED_SESSION_KEEP_DAYS) } }],
      })),
      'purge-one-time-tokens': tableJob('oneTimeTokens', models.OneTimeToken, (now) => ({ [Op.or]: [{ expiresAt: { [Op.lt]: now } }, { usedAt: { [Op.ne]: null } }] })),
      'purge-login-challenges': tableJob('loginChallenges', models.LoginChallenge, (now) => ({ [Op.or]: [{ expiresAt: { [Op.lt]: now } }, { usedAt: { [Op.ne]: null } }] })),
    } satisfies Record<string, RetentionJob>,
  };
}

export type AuthModule = ReturnType<typeof createAuthModule>;
