import type { RequestHandler } from 'express';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { AppError } from '../errors/app-error.js';
import { requestMeta, type RequestMeta } from '../http/request-meta.js';
import type { AccessClaims } from '../http/route.js';

/** Checks an access token and its login session; throws a 401 AppError when either is not valid. */
export type BearerVerifier = (token: string, meta: RequestMeta) => Promise<AccessClaims>;

export interface AuthenticateDeps {
  verifyBearer: BearerVerifier;
  monitoringToken?: string;
  /** A token that opens `/metrics` only, for the Prometheus scraper. */
  metricsToken?: string;
}

/** The scheme in any case (RFC 9110 §11.1), then exactly one space and a token68. */
const BEARER = /^bearer ([A-Za-z0-9._~+/-]+=*)$/i;

/**
 * Optional authentication (docs/DESIGN.md §2.7): no Authorization header means anonymous; a header
 * that is present must carry a valid, unrevoked access token (or the monitoring or metrics token).
 */
export function authenticate(deps: AuthenticateDeps): RequestHandler {
  const verify: RequestHandler = async function verifyBearer(req, res, next) {
    const header = req.headers.authorization ?? '';
    const token = BEARER.exec(header)?.[1];
    if (!token) throw AppError.unauthorized('INVALID_TOKEN', 'The Authorization header must be "Bearer <token>".');

    if (deps.monitoringToken !== undefined && constantTimeEqual(token, deps.monitoringToken)) {
      req.serviceToken = 'monitoring';
      return next();
    }
    if (deps.metricsToken !== undefined && constantTimeEqual(token, deps.metricsToken)) {
      req.serviceToken = 'metrics';
      return next();
    }
    const claims = await deps.verifyBearer(token, requestMeta(req));
    req.auth = claims;
    res.locals.userId = claims.userId;
    next();
  };
  // Anonymous requests pass straight through, without a promise.
  return function authenticateRequest(req, res, next) {
    if (req.headers.authorization === undefined) return next();
    return verify(req, res, next);
  };
}
