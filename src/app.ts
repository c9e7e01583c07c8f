import express, { type ErrorRequestHandler, type Express } from 'express';
import { createContext, type AppContext, type AppDeps } from './context.js';
import { accessLog } from './middleware/access-log.js';
import { authenticate } from './middleware/authenticate.js';
import { jsonBodies } from './middleware/body-parser.js';
import { corsAllowlist } from './middleware/cors.js';
import { notFound } from './middleware/not-found.js';
import { requestId } from './middleware/request-id.js';
import { httpsRedirect, securityHeaders } from './middleware/security-headers.js';
import { mountRoutes } from './routes.js';

export type { AppContext, AppDeps };

/** Most routes take a few fields; entries carry up to 10,000 characters of text. */
const SMALLER_BODY_LIMITS = { '/api/auth': '16kb', '/api/users': '16kb', '/api/admin': '16kb', '/api/sessions': '64kb' };

/** Builds the app: the security pipeline of docs/DESIGN.md §2, in order. No listening, no connecting. */
export function createApp(deps: AppDeps): { app: Express; context: AppContext } {
  const context = createContext(deps);
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
  app.use(jsonBodies(config.bodyLimit, SMALLER_BODY_LIMITS)); // 6. JSON bodies (413 / 400); cookies in /api/auth only
  app.use(authenticate({ ...context, monitoringToken: config.secrets.monitoringToken })); // 7. bearer -> req.auth

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
