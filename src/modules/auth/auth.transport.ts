import type { Request, Response } from 'express';
import type { AuthCookies } from './auth.cookies.js';
import { RefreshTokens } from './refresh-tokens.js';
import type { IssuedTokens as Issued } from './session-issuer.js';

/**
 * Where the refresh token travels: in the body for native apps, in an HttpOnly cookie (with
 * a CSRF token in the body instead) for browsers.
 */
export function tokenTransport(cookies: AuthCookies) {
  return {
    body(res: Response, issued: Issued, transport: 'cookie' | 'body') {
      const { refreshToken, ...rest } = issued;
      if (transport === 'body') return { ...rest, refreshToken };
      return { ...rest, csrfToken: cookies.set(res, refreshToken, issued.session.id, new Date(issued.session.expiresAt)) };
    },

    /** The refresh token of this request and where it came from; a cookie must pass the CSRF check. */
    presented(req: Request, bodyToken: string | undefined) {
      if (bodyToken !== undefined) return { token: bodyToken, transport: 'body' as const };
      const token = cookies.refreshTokenFrom(req);
      if (!token) return undefined;
      cookies.assertCsrf(req, RefreshTokens.parse(token)?.sessionId ?? '');
      return { token, transport: 'cookie' as const };
    },
  };
}
