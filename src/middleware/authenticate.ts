import type { RequestHandler } from 'express';
import { AppError } from '../errors/app-error.js';
import { constantTimeEqual } from '../lib/constant-time.js';
import { requestMeta } from '../lib/request-meta.js';
import { InvalidTokenError, type AccessTokens } from '../modules/auth/access-tokens.js';
import type { SessionGuard } from '../modules/auth/session-guard.js';
import type { SecurityEventRecorder } from '../modules/security-events/security-event-recorder.js';

export interface AuthenticateDeps {
  accessTokens: AccessTokens;
  guard: SessionGuard;
  events: SecurityEventRecorder;
  monitoringToken?: string;
}

/** The scheme in any case (RFC 9110 §11.1), then exactly one space and a token68. */
const BEARER = /^bearer ([A-Za-z0-9._~+/-]+=*)$/i;

function refused(detail: string): AppError {
  return AppError.unauthorized('INVALID_TOKEN', detail);
}

/**
 * Optional authentication (SPEC §2.7): no Authorization header means anonymous; a header
 * that is present must carry a valid, unrevoked access token (or the monitoring token).
 */
export function authenticate(deps: AuthenticateDeps): RequestHandler {
  const verify: RequestHandler = async function verifyBearer(req, res, next) {
    const header = req.headers.authorization ?? '';
    const token = BEARER.exec(header)?.[1];
    if (!token) throw refused('The Authorization header must be "Bearer <token>".');

    if (deps.monitoringToken !== undefined && constantTimeEqual(token, deps.monitoringToken)) {
      req.monitoring = true;
      return next();
    }
    const meta = requestMeta(req);
    let claims;
    try {
      claims = await deps.accessTokens.verify(token);
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      deps.events.record({ type: 'token_validation_failure', ...meta, metadata: { reason: error.reason } });
      throw refused('The access token is invalid or expired.');
    }
    if (!(await deps.guard.isActive(claims.sessionId))) {
      deps.events.record({ type: 'token_validation_failure', userId: claims.userId, ...meta, metadata: { reason: 'session_ended' } });
      throw refused('The session of this access token has ended.');
    }
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
