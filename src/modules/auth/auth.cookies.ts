import { createHmac, randomBytes } from 'node:crypto';
import type { CookieOptions, Request, Response } from 'express';
import type { Config } from '../../config/env.js';
import { AppError } from '../../errors/app-error.js';
import { constantTimeEqual } from '../../crypto/constant-time.js';
import { deriveKey } from '../../crypto/secret-box.js';
import { isAllowedOrigin } from '../../middleware/cors.js';

export const CSRF_HEADER = 'X-CSRF-Token';

interface CookieNames {
  refresh: string;
  csrf: string;
}

/** The names before the `__Secure-` prefix; production still reads them for one release. */
const UNPREFIXED: CookieNames = { refresh: 'confidant_refresh', csrf: 'confidant_csrf' };
/**
 * In production the cookies are `Secure`, and the `__Secure-` prefix makes browsers accept
 * them only with that attribute from an HTTPS origin: a plain-HTTP page on a sibling host
 * cannot set or shadow them (cookie tossing). `__Host-` would need `Path=/`.
 */
const PREFIXED: CookieNames = { refresh: '__Secure-confidant_refresh', csrf: '__Secure-confidant_csrf' };

export function authCookieNames(config: Pick<Config, 'isProduction'>): CookieNames {
  return config.isProduction ? PREFIXED : UNPREFIXED;
}

function cookieOf(req: Request, name: string): string | undefined {
  const value: unknown = req.cookies?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The cookie transport of docs/DESIGN.md §5.5: the refresh token in an HttpOnly, SameSite=Strict
 * cookie scoped to /api/auth, plus a double-submit CSRF token bound to the session
 * (HMAC of the session id) that the SPA echoes in X-CSRF-Token with an allowlisted Origin.
 */
export function createAuthCookies(config: Config) {
  const csrfKey = deriveKey(config.secrets.authSecret, 'csrf-tokens');
  const originAllowed = isAllowedOrigin(config);
  const base: CookieOptions = { httpOnly: true, secure: config.isProduction, sameSite: 'strict', path: '/api/auth' };
  const names = authCookieNames(config);
  // Browsers signed in before the prefix keep working until their next refresh renames the cookies.
  const legacy = names === UNPREFIXED ? undefined : UNPREFIXED;

  /** The names a request's cookies go by: the current ones, else (one release) the unprefixed ones, never a mix. */
  function presented(req: Request): CookieNames {
    if (legacy && !cookieOf(req, names.refresh) && cookieOf(req, legacy.refresh)) return legacy;
    return names;
  }

  function csrfTokenFor(sessionId: string): string {
    const nonce = randomBytes(16).toString('base64url');
    return `${nonce}.${createHmac('sha256', csrfKey).update(`${sessionId}.${nonce}`).digest('base64url')}`;
  }

  function csrfTokenMatches(token: string, sessionId: string): boolean {
    const [nonce, mac] = token.split('.');
    if (!nonce || !mac) return false;
    return constantTimeEqual(mac, createHmac('sha256', csrfKey).update(`${sessionId}.${nonce}`).digest('base64url'));
  }

  function clearLegacy(res: Response): void {
    if (!legacy) return;
    res.clearCookie(legacy.refresh, base);
    res.clearCookie(legacy.csrf, base);
  }

  return {
    refreshTokenFrom(req: Request): string | undefined {
      return cookieOf(req, presented(req).refresh);
    },

    /** Sets both cookies (replacing unprefixed ones) and returns the CSRF token for the response body. */
    set(res: Response, refreshToken: string, sessionId: string, expiresAt: Date): string {
      const maxAge = Math.max(0, expiresAt.getTime() - Date.now());
      const csrfToken = csrfTokenFor(sessionId);
      clearLegacy(res);
      res.cookie(names.refresh, refreshToken, { ...base, maxAge });
      res.cookie(names.csrf, csrfToken, { ...base, maxAge });
      return csrfToken;
    },

    /** A CSRF token in the cookie that goes with the refresh cookie the request presented. */
    issueCsrf(req: Request, res: Response, sessionId: string): string {
      const csrfToken = csrfTokenFor(sessionId);
      res.cookie(presented(req).csrf, csrfToken, base);
      return csrfToken;
    },

    clear(res: Response): void {
      clearLegacy(res);
      res.clearCookie(names.refresh, base);
      res.clearCookie(names.csrf, base);
    },

    /** A cookie-authenticated request must prove it comes from our SPA: 403 otherwise. */
    assertCsrf(req: Request, sessionId: string): void {
      const origin = req.get('origin');
      if (!origin || !originAllowed(origin)) throw AppError.forbidden('CSRF_ORIGIN_REJECTED', 'The request origin is not allowed.');
      const header = req.get(CSRF_HEADER);
      const cookie = cookieOf(req, presented(req).csrf);
      if (!header || !cookie || !constantTimeEqual(header, cookie) || !csrfTokenMatches(header, sessionId)) {
        throw AppError.forbidden('CSRF_TOKEN_INVALID', 'A valid X-CSRF-Token header is required.');
      }
    },
  };
}

export type AuthCookies = ReturnType<typeof createAuthCookies>;
