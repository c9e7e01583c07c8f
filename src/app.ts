import type { Config } from './config/env.js';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { productionLookalikeWarning } from './config/env.js';
import { createInfra, type AppDeps, type Infra } from './context.js';
import { SAME_DATABASE_WARNING } from './db/key-store.js';
import { onQueryFailure } from './db/query-observer.js';
import { COOKIE_TOPOLOGY_ADVICE, crossSiteOrigins } from './http/cookie-topology.js';
import { ProxyTrustCheck } from './http/proxy-trust.js';
import { RouteTable } from './http/route-table.js';
import { describeError } from './infra/logger.js';
import { accessLog } from './middleware/access-log.js';
import { authenticate } from './middleware/authenticate.js';
import { jsonBodies } from './middleware/body-parser.js';
import { httpMetrics } from './middleware/http-metrics.js';
import { corsAllowlist } from './middleware/cors.js';
import { notFound } from './middleware/not-found.js';
import { rateLimits } from './middleware/rate-limit.js';
import { ResilientRateLimitStore } from './middleware/rate-limit-store.js';
import { requestId } from './middleware/request-id.js';
import { steps } from './middleware/steps.js';
import { recordRequests } from './middleware/record-requests.js';
import { requestSpan } from './middleware/request-span.js';
import { httpsRedirect, securityHeaders } from './middleware/security-headers.js';
import { createModules, type Modules } from './modules/index.js';
import { mountRoutes } from './routes.js';

export type { AppDeps, Infra };

export interface BuiltApp {
  app: Express;
  infra: Infra;
  modules: Modules;
  /** Every endpoint, from the route declarations. */
  routes: RouteTable;
  /**
   * The shutdown order, after the server stopped taking requests: the live sockets, then
   * background work (mail, events, sealing), so nothing touches a closed database, then
   * Redis, then the pool.
   */
  drain(): Promise<void>;
}

/** Configuration that works but is probably not what was meant: said once, at start. */
export function configurationWarnings(config: Config): string[] {
  const warnings: string[] = [];
  const lookalike = productionLookalikeWarning(config);
  if (lookalike) warnings.push(lookalike);
  const crossSite = crossSiteOrigins(config.publicUrl, config.corsOrigins);
  if (crossSite.length > 0) warnings.push(`cookie transport: ${crossSite.join(', ')} is cross-site to ${config.publicUrl}; ${COOKIE_TOPOLOGY_ADVICE}`);
  if (config.isProduction && !config.consent.documents.some(({ document }) => document === 'health_data_processing')) {
    warnings.push('consent: CONSENT_DOCUMENTS names no health_data_processing version, so counseling content is stored without a recorded explicit consent (GDPR Art. 9)');
  }
  return warnings;
}

/** Builds the app: the security pipeline of docs/DESIGN.md §2, in order. No listening, no connecting. */
export function createApp(deps: AppDeps): BuiltApp {
  const infra = createInfra(deps);
  const { config, shared, logger } = infra;
  const proxyTrust = new ProxyTrustCheck(config, logger);
  const limits = rateLimits(config, {
    createStore: shared && ((tier) => new ResilientRateLimitStore(shared, tier)),
    onRefused: (tier) => infra.metrics.rateLimited(tier),
  });
  const stopCountingQueryErrors = onQueryFailure(infra.sequelize, (kind) => infra.metrics.queryFailed(kind));
  const routes = new RouteTable({
    authLimit: limits.auth,
    checkResponses: !config.isProduction,
    recentAuthentication: (actor) => modules.auth.stepUp.require(actor), // called per request, after the modules exist
    consentGiven: (userId) => modules.consent.requireCurrent(userId),
  });
  const modules = createModules(infra, { proxyTrust, routes: () => routes.routes, storage: deps.storage });
  for (const warning of configurationWarnings(config)) logger.warn(warning);
  if (infra.keyStore.sharesDataBackups) logger.warn(SAME_DATABASE_WARNING);

  const app = express();
  app.set('trust proxy', config.trustProxy); // req.ip = the address seen through exactly this many hops
  app.set('etag', false); // responses are no-store; hashing them is wasted work
  app.disable('x-powered-by'); // never set, so never removed again on every request

  // Steps 1-7 apply to every request: one Express layer runs them in this order (a step that
  // has nothing to do in this configuration, such as the HTTPS redirect off a proxy, is left out).
  app.use(
    steps(
      requestId(), //                           1. correlate logs, errors and responses
      recordRequests(httpMetrics(infra.metrics), accessLog(logger)), // 2. when it ends: count and time it by route template, one log line (nothing secret)
      requestSpan(), //                            ... and trace it (no-op without an OpenTelemetry SDK)
      securityHeaders(config), //               3. helmet, Permissions-Policy, no-store
      httpsRedirect(config), //                    ... and HTTPS behind a trusted proxy
      corsAllowlist(config), //                 4. only allowlisted origins get CORS headers
      proxyTrust.middleware(), //               5. notice forwarding hops we do not trust...
      limits.global, //                            ... then the global and write tiers
      limits.write,
      jsonBodies(config.bodyLimit, (method, path) => routes.bodyLimitFor(method, path)), // 6. JSON bodies, the route's limit (413 / 400)
      authenticate({ verifyBearer: modules.auth.verifyBearer, monitoringToken: config.secrets.monitoringToken, metricsToken: config.secrets.metricsToken }), // 7. bearer -> req.auth
    ),
  );

  mountRoutes(app, routes, modules); //           8. route declarations: tier, access, validation, handler
  if (deps.extraRoutes) {
    const extra = express.Router();
    deps.extraRoutes(extra);
    app.use(extra);
  }

  app.use(notFound); //                           9. unknown routes, then the central handler
  const handleError: ErrorRequestHandler = (error, req, res, _next) => infra.errorHandler.handleRequestError(error, req, res);
  app.use(handleError);

  async function drain(): Promise<void> {
    await modules.live.close(); // entries being written over sockets finish first; then the sockets close with 1001
    await modules.privacy.exports.stop(); // an archive being built goes back to the queue
    await modules.auth.idle();
    await modules.passwordless.stop();
    await modules.passwordless.idle();
    await infra.mailer.idle();
    await modules.securityEvents.recorder.flush();
    await modules.securityEvents.auditChain.sealPending().catch((error: unknown) => logger.warn('sealing on shutdown failed', describeError(error)));
    await modules.securityEvents.auditChain.stop();
    await shared?.close();
    await infra.keyStore.close().catch((error: unknown) => logger.warn('closing the key store failed', describeError(error)));
    await infra.sequelize.close().catch((error: unknown) => logger.warn('closing the database failed', describeError(error)));
    stopCountingQueryErrors();
    await infra.logs.flush();
  }

  return { app, infra, modules, routes, drain };
}
