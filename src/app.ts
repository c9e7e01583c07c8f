import express, { type ErrorRequestHandler, type Express, type Router } from 'express';
import type { Sequelize } from 'sequelize';
import type { Config } from './config/env.js';
import { ErrorHandler } from './errors/error-handler.js';
import { Lifecycle } from './lib/lifecycle.js';
import { createLogger, type Logger } from './lib/logger.js';
import { ProxyTrustCheck } from './lib/proxy-trust.js';
import { accessLog } from './middleware/access-log.js';
import { jsonBody } from './middleware/body-parser.js';
import { corsAllowlist } from './middleware/cors.js';
import { notFound } from './middleware/not-found.js';
import { rateLimits, type RateLimitStoreFactory } from './middleware/rate-limit.js';
import { requestId } from './middleware/request-id.js';
import { httpsRedirect, securityHeaders } from './middleware/security-headers.js';
import { createHealthService, type HealthService } from './modules/health/health.service.js';
import { mountRoutes } from './routes.js';

export interface AppDeps {
  config: Config;
  sequelize: Sequelize;
  logger?: Logger;
  lifecycle?: Lifecycle;
  errorHandler?: ErrorHandler;
  rateLimitStore?: RateLimitStoreFactory;
  /** Mounted just before the 404: tests and tools add diagnostic routes here. */
  extraRoutes?: (router: Router) => void;
}

/** What routers and services are built from; assembled once per app. */
export interface AppContext {
  config: Config;
  sequelize: Sequelize;
  logger: Logger;
  lifecycle: Lifecycle;
  errorHandler: ErrorHandler;
  proxyTrust: ProxyTrustCheck;
  health: HealthService;
  limits: ReturnType<typeof rateLimits>;
}

function buildContext(deps: AppDeps): AppContext {
  const { config, sequelize } = deps;
  const logger = deps.logger ?? createLogger(config.log);
  const lifecycle = deps.lifecycle ?? new Lifecycle('ready');
  const errorHandler = deps.errorHandler ?? new ErrorHandler(logger, { exposeDebug: config.env === 'development' });
  const proxyTrust = new ProxyTrustCheck(config, logger);
  const health = createHealthService({ sequelize, lifecycle, proxyTrust, commit: config.commit, dbTimeoutMs: config.database.readyTimeoutMs });
  return { config, sequelize, logger, lifecycle, errorHandler, proxyTrust, health, limits: rateLimits(config, deps.rateLimitStore) };
}

/** Builds the app: the security pipeline of SPEC §2, in order. No listening, no connecting. */
export function createApp(deps: AppDeps): { app: Express; context: AppContext } {
  const context = buildContext(deps);
  const { config } = context;
  const app = express();
  app.set('trust proxy', config.trustProxy); // req.ip = the address seen through exactly this many hops
  app.set('etag', false); // responses are no-store; hashing them is wasted work

  app.use(requestId()); //                        1. correlate logs, errors and responses
  app.use(accessLog(config)); //                  2. one line per request, nothing secret
  app.use(securityHeaders(config)); //            3. helmet, Permissions-Policy, no-store
  app.use(httpsRedirect(config)); //                 ... and HTTPS behind a trusted proxy
  app.use(corsAllowlist(config)); //              4. only allowlisted origins get CORS headers
  app.use(context.proxyTrust.middleware()); //    5. notice forwarding hops we do not trust...
  app.use(context.limits.global); //                 ... then the global and write tiers
  app.use(context.limits.write);
  app.use(jsonBody(config.bodyLimit)); //         6. JSON bodies up to BODY_LIMIT

  mountRoutes(app, context); //                   8. routers -> validation -> controller -> service
  if (deps.extraRoutes) {
    const extra = express.Router();
    deps.extraRoutes(extra);
    app.use(extra);
  }

  app.use(notFound); //                           9. unknown routes, then the central handler
  const handleError: ErrorRequestHandler = (error, req, res, _next) => context.errorHandler.handleRequestError(error, req, res);
  app.use(handleError);
  return { app, context };
}
