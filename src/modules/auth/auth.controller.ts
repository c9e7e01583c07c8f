import type { Request, Response } from 'express';
import { AppError } from '../../errors/app-error.js';
import { requestMeta } from '../../lib/request-meta.js';
import { validated } from '../../middleware/validate.js';
import type { AuthCookies } from './auth.cookies.js';
import type { AccountRecovery } from './account-recovery.service.js';
import {
  changePasswordSchema,
  emailOnlySchema,
  loginSchema,
  refreshSchema,
  registerSchema,
  resetPasswordSchema,
  sessionIdSchema,
  verifyEmailSchema,
} from './auth.schemas.js';
import type { AuthService } from './auth.service.js';
import { RefreshTokens } from './refresh-tokens.js';
import { JWKS_MAX_AGE_S, type SigningKeyStore } from './signing-keys.js';

type Issued = Awaited<ReturnType<AuthService['login']>>;

const ACCEPTED = { status: 'accepted', message: 'If the address belongs to an account, we have sent it an email.' };

export function createAuthController(auth: AuthService, recovery: AccountRecovery, cookies: AuthCookies, keys: SigningKeyStore) {
  /** Body transport returns the refresh token; cookie transport sets it and returns the CSRF token instead. */
  function sendTokens(res: Response, issued: Issued, transport: 'cookie' | 'body', status = 200) {
    const { refreshToken, ...rest } = issued;
    if (transport === 'body') {
      res.status(status).json({ ...rest, refreshToken });
      return;
    }
    const csrfToken = cookies.set(res, refreshToken, issued.session.id, new Date(issued.session.expiresAt));
    res.status(status).json({ ...rest, csrfToken });
  }

  /** The refresh token of this request and where it came from; cookies must pass the CSRF check. */
  function presentedRefreshToken(req: Request, bodyToken: string | undefined) {
    if (bodyToken !== undefined) return { token: bodyToken, transport: 'body' as const };
    const token = cookies.refreshTokenFrom(req);
    if (!token) return undefined;
    cookies.assertCsrf(req, RefreshTokens.parse(token)?.sessionId ?? '');
    return { token, transport: 'cookie' as const };
  }

  return {
    async register(req: Request, res: Response) {
      await auth.register(validated(res, registerSchema).body, requestMeta(req));
      res.status(202).json({ status: 'accepted', message: 'Check your email to finish creating your account.' });
    },

    async login(req: Request, res: Response) {
      const input = validated(res, loginSchema).body;
      sendTokens(res, await auth.login(input, requestMeta(req)), input.transport);
    },

    async refresh(req: Request, res: Response) {
      const presented = presentedRefreshToken(req, validated(res, refreshSchema).body.refreshToken);
      if (!presented) throw AppError.unauthorized('REFRESH_TOKEN_REQUIRED', 'No refresh token was presented.');
      try {
        sendTokens(res, await auth.refresh(presented.token, requestMeta(req)), presented.transport);
      } catch (error) {
        if (presented.transport === 'cookie' && error instanceof AppError && error.status === 401) cookies.clear(res);
        throw error;
      }
    },

    /** Ends the current session: the bearer's, or the one named by the refresh cookie or body token. */
    async logout(req: Request, res: Response) {
      if (req.auth) {
        await auth.logout(req.auth.sessionId, req.auth.userId, requestMeta(req));
      } else {
        const presented = presentedRefreshToken(req, validated(res, refreshSchema).body.refreshToken);
        if (!presented) throw AppError.unauthorized();
        await auth.logoutWithRefreshToken(presented.token, requestMeta(req));
      }
      cookies.clear(res);
      res.status(204).end();
    },

    async logoutAll(req: Request, res: Response) {
      const ended = await auth.logoutAll(req.auth!.userId, requestMeta(req));
      cookies.clear(res);
      res.json({ endedSessions: ended });
    },

    async me(req: Request, res: Response) {
      res.json(await auth.me(req.auth!.userId));
    },

    async sessions(req: Request, res: Response) {
      res.json({ items: await auth.listSessions(req.auth!.userId, req.auth!.sessionId) });
    },

    async revokeSession(req: Request, res: Response) {
      await auth.revokeSession(req.auth!.userId, validated(res, sessionIdSchema).params.id, requestMeta(req));
      res.status(204).end();
    },

    /** A fresh CSRF token for the session named by the refresh cookie. */
    csrf(req: Request, res: Response) {
      const sessionId = RefreshTokens.parse(cookies.refreshTokenFrom(req) ?? '')?.sessionId;
      if (!sessionId) throw AppError.unauthorized('REFRESH_TOKEN_REQUIRED', 'Sign in with the cookie transport first.');
      res.json({ csrfToken: cookies.issueCsrf(req, res, sessionId) });
    },

    async verifyEmail(req: Request, res: Response) {
      await recovery.verifyEmail(validated(res, verifyEmailSchema).body.token, requestMeta(req));
      res.json({ status: 'verified' });
    },

    resendVerification(_req: Request, res: Response) {
      recovery.resendVerification(validated(res, emailOnlySchema).body.email);
      res.status(202).json(ACCEPTED);
    },

    forgotPassword(req: Request, res: Response) {
      recovery.forgotPassword(validated(res, emailOnlySchema).body.email, requestMeta(req));
      res.status(202).json(ACCEPTED);
    },

    async resetPassword(req: Request, res: Response) {
      const { token, password } = validated(res, resetPasswordSchema).body;
      await recovery.resetPassword(token, password, requestMeta(req));
      cookies.clear(res);
      res.json({ status: 'password_reset', message: 'Your password was changed; sign in with the new one.' });
    },

    async changePassword(req: Request, res: Response) {
      await recovery.changePassword(req.auth!.userId, req.auth!.sessionId, validated(res, changePasswordSchema).body, requestMeta(req));
      res.json({ status: 'password_changed', message: 'Your password was changed; your other sessions were signed out.' });
    },

    async jwks(_req: Request, res: Response) {
      res.set('Cache-Control', `public, max-age=${JWKS_MAX_AGE_S}`).json(await keys.jwks());
    },
  };
}
