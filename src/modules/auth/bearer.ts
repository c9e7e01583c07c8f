import { AppError } from '../../errors/app-error.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { AccessClaims } from '../../http/route.js';
import type { SecurityEventRecorder } from '../security-events/index.js';
import { InvalidTokenError, type AccessTokens } from './access-tokens.js';
import type { SessionGuard } from './session-guard.js';

const refused = (detail: string) => AppError.unauthorized('INVALID_TOKEN', detail);

/** A bearer access token is valid when its signature and claims hold and its login session is still active. */
export function bearerVerifier(deps: { accessTokens: AccessTokens; guard: SessionGuard; events: SecurityEventRecorder }) {
  return async function verifyBearer(token: string, meta: RequestMeta): Promise<AccessClaims> {
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
    return claims;
  };
}
