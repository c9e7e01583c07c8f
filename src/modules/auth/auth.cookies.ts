import { createHmac, randomBytes } from 'node:crypto';
import type { CookieOptions, Request, Response } from 'express';
import type { Config } from '../../config/env.js';
import { AppError } from '../../errors/app-error.js';
import { constantTimeEqual } from '../../crypto/constant-time.js';
import { deriveKey } from '../../crypto/secret-box.js';
import { isAllowedOrigin } from '../../middleware/cors.js';

export const REFRESH_COOKIE = 'confidant_refresh';
export const CSRF_COOKIE = 'confidant_csrf';
export const CSRF_HEADER = 'X-CSRF-Token';

/**
 * The cookie transport of docs/DESIGN.md §5.5: the refresh token in an HttpOnly, SameSite=Strict
 * cookie scoped to /api/auth, plus a double-submit CSRF token bound to the session
 * (HMAC of the session id) that the SPA echoes in X-CSRF-Token with an allowlisted Origin.
 */
export function createAuthCookies(config: Config) {
  const csrfKey = deriveKey(config.secrets.authSecret, 'csrf-tokens');
  const originAllowed = isAllowedOrigin(config);
  const base: CookieOptions = { httpOnly: true, secure: config.isProduction, sameSite: 'strict', path: '/api/auth' };

  function csrfTokenFor(sessionId: string): string {
    const nonce = randomBytes(16).toString('base64url');
    return `${nonce}.${createHmac('sha256', csrfKey).update(`${sessionId}.${nonce}`).digest('base64url')}`;
  }

  function csrfTokenMatches(token: string, sessionId: string): boolean {
    const [nonce, mac] = token.split('.');
    if (!nonce || !mac) return false;
    return constantTimeEqual(mac, createHmac('sha256', csrfKey).update(`${sessionId}.${nonce}`).digest('base64url'));
  }

  return {
    refreshTokenFrom(req: Request): string | undefined {
      const value: unknown = req.cookies?.[REFRESH_COOKIE];
      return typeof value === 'string' && value !== '' ? value : undefined;
    },

    /** Sets both cookies and returns the CSRF token for the response body. */
    set(res: Response, refreshToken: string, sessionId: string, expiresAt: Date): string {
      const maxAge = Math.max(0, expiresAt.getTime() - Date.now());
      const csrfToken = csrfTokenFor(sessionId);
      res.cookie(REFRESH_COOKIE, refreshToken, { ...base, maxAge });
      res.cookie(CSRF_COOKIE, csrfToken, { ...base, maxAge });
      return csrfToken;
    },

    issueCsrf(res: Response, sessionId: string): string {
      const csrfToken = csrfTokenFor(sessionId);
      res.cookie(CSRF_COOKIE, csrfToken, base);
      return csrfToken;
    },

    clear(res: Response): void {
      res.clearCookie(REFRESH_COOKIE, base);
      res.clearCookie(CSRF_COOKIE, base);
    },

    /** A cookie-authenticated request must prove it comes from our SPA: 403 otherwise. */
    assertCsrf(req: Request, sessionId: string): void {
      const origin = req.get('origin');
      if (!origin || !originAllowed(origin)) throw AppError.forbidden('CSRF_ORIGIN_REJECTED', 'The request origin is not allowed.');
      const header = req.get(CSRF_HEADER);
      const cookie: unknown = req.cookies?.[CSRF_COOKIE];
      if (!header || typeof cookie !== 'string' || !constantTimeEqual(header, cookie) || !csrfTokenMatches(header, sessionId)) {
        throw AppError.forbidden('CSRF_TOKEN_INVALID', 'A valid X-CSRF-Token header is required.');
      }
    },
  };
}

export type AuthCookies = ReturnType<typeof createAuthCookies>;
