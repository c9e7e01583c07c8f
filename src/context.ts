import type { Router } from 'express';
import type { Sequelize } from 'sequelize';
import { productionLookalikeWarning, type Config } from './config/env.js';
import { ErrorHandler } from './errors/error-handler.js';
import { JobLocks, newHolderId } from './jobs/job-lock.js';
import { Background } from './lib/background.js';
import { COOKIE_TOPOLOGY_ADVICE, crossSiteOrigins } from './lib/cookie-topology.js';
import { DataCipher } from './lib/data-cipher.js';
import { Lifecycle } from './lib/lifecycle.js';
import { createLogger, type Logger } from './lib/logger.js';
import { createMailer, type Mailer } from './lib/mailer.js';
import { PasswordHasher } from './lib/passwords.js';
import { ProxyTrustCheck } from './lib/proxy-trust.js';
import { SharedState } from './lib/shared-state.js';
import { rateLimits } from './middleware/rate-limit.js';
import { ResilientRateLimitStore } from './middleware/rate-limit-store.js';
import { defineModels } from './models/index.js';
import { AccessTokens } from './modules/auth/access-tokens.js';
import { createAccountRecovery } from './modules/auth/account-recovery.service.js';
import { createAuthCookies } from './modules/auth/auth.cookies.js';
import { AuthSessions } from './modules/auth/auth-sessions.js';
import { createAuthService } from './modules/auth/auth.service.js';
import { LoginThrottle, SharedFailureStore } from './modules/auth/login-throttle.js';
import { mailTemplates } from './modules/auth/mail-templates.js';
import { OneTimeTokens } from './modules/auth/one-time-tokens.js';
import { RefreshTokens } from './modules/auth/refresh-tokens.js';
import { RedisRevocationBus } from './modules/auth/revocation-bus.js';
import { SessionGuard } from './modules/auth/session-guard.js';
import { SigningKeyStore } from './modules/auth/signing-keys.js';
import { createAdminService } from './modules/admin/admin.service.js';
import { createDashboardService } from './modules/dashboard/dashboard.service.js';
import { createHealthService } from './modules/health/health.service.js';
import { AuditChain } from './modules/security-events/audit-chain.js';
import { SecurityEventRecorder } from './modules/security-events/security-event-recorder.js';
import { createSecurityEventsService } from './modules/security-events/security-events.service.js';
import { createSessionsService } from './modules/sessions/sessions.service.js';
import { createAccountDataService } from './modules/users/account-data.service.js';
import { createUsersService } from './modules/users/users.service.js';

export interface AppDeps {
  config: Config;
  sequelize: Sequelize;
  logger?: Logger;
  lifecycle?: Lifecycle;
  errorHandler?: ErrorHandler;
  mailer?: Mailer;
  /** How long a login session's state is trusted before it is read again. */
  sessionRecheckMs?: number;
  /** Mounted just before the 404: tests and tools add diagnostic routes here. */
  extraRoutes?: (router: Router) => void;
}

/** Everything routers and services are built from, assembled once per app. */
export function createContext(deps: AppDeps) {
  const { config, sequelize } = deps;
  const logger = deps.logger ?? createLogger(config.log);
  const lifecycle = deps.lifecycle ?? new Lifecycle('ready');
  const errorHandler = deps.errorHandler ?? new ErrorHandler(logger, { exposeDebug: config.exposeDebug });
  const proxyTrust = new ProxyTrustCheck(config, logger);
  const models = defineModels(sequelize);
  // State shared by instances lives in Redis when REDIS_URL is set, in-process otherwise.
  const shared = config.redis.url ? new SharedState(config.redis.url, config.redis.keyPrefix, logger) : undefined;
  const cipher = new DataCipher(config.secrets.dataEncryptionKey, config.secrets.previousDataEncryptionKeys);
  const passwords = new PasswordHasher(config.passwordHashing);

  const keys = SigningKeyStore.fromConfig(models, config);
  const accessTokens = new AccessTokens(keys, config);
  const guard = new SessionGuard(models, deps.sessionRecheckMs ?? 60_000, shared && new RedisRevocationBus(shared));
  const authSessions = new AuthSessions(models, guard);
  const locks = new JobLocks(models, newHolderId());
  const auditChain = new AuditChain(sequelize, models, locks, logger);
  const events = new SecurityEventRecorder(models, logger, () => auditChain.schedule());
  const mailer = deps.mailer ?? createMailer(config, logger);
  const background = new Background(logger, 'account mail flow');
  const recovery = createAccountRecovery({
    config,
    sequelize,
    models,
    passwords,
    tokens: new OneTimeTokens(sequelize, models),
    sessions: authSessions,
    events,
    mailer,
    templates: mailTemplates(config.appUrl),
    background,
  });
  const auth = createAuthService({
    config,
    models,
    accessTokens,
    passwords,
    refreshTokens: new RefreshTokens(config.secrets.authSecret),
    sessions: authSessions,
    throttle: new LoginThrottle(shared && new SharedFailureStore(shared)),
    events,
    notifier: recovery.notifier,
  });

  const users = createUsersService(models);
  const securityEvents = createSecurityEventsService(models);

  const lookalike = productionLookalikeWarning(config);
  if (lookalike) logger.warn(lookalike);
  const crossSite = crossSiteOrigins(config.publicUrl, config.corsOrigins);
  if (crossSite.length > 0) {
    logger.warn(`cookie transport: ${crossSite.join(', ')} is cross-site to ${config.publicUrl}; ${COOKIE_TOPOLOGY_ADVICE}`);
  }

  return {
    config,
    sequelize,
    logger,
    lifecycle,
    errorHandler,
    proxyTrust,
    models,
    cipher,
    passwords,
    keys,
    accessTokens,
    guard,
    authSessions,
    events,
    locks,
    auditChain,
    mailer,
    background,
    auth,
    recovery,
    cookies: createAuthCookies(config),
    securityEvents,
    sessions: createSessionsService({ sequelize, models, maxEntriesPerSession: config.maxEntriesPerSession, cipher }),
    dashboard: createDashboardService(sequelize, models),
    users,
    accountData: createAccountDataService({ sequelize, models, cipher, passwords, users, securityEvents, events, guard }),
    admin: createAdminService({ sequelize, models, sessions: authSessions, events }),
    shared,
    health: createHealthService({ sequelize, shared, lifecycle, proxyTrust, commit: config.commit, dbTimeoutMs: config.database.readyTimeoutMs }),
    limits: rateLimits(config, shared && ((tier) => new ResilientRateLimitStore(shared, tier))),
  };
}

export type AppContext = ReturnType<typeof createContext>;
