import cookieParser from 'cookie-parser';
import { Router, type RequestHandler } from 'express';
import { requireAuth } from '../../middleware/authorize.js';
import { validate } from '../../middleware/validate.js';
import type { createAuthController } from './auth.controller.js';
import {
  changePasswordSchema,
  emailOnlySchema,
  loginSchema,
  logoutSchema,
  refreshSchema,
  registerSchema,
  resetPasswordSchema,
  sessionIdSchema,
  verifyEmailSchema,
} from './auth.schemas.js';

type AuthController = ReturnType<typeof createAuthController>;

/** `/api/auth`. The auth rate-limit tier guards every route that takes a credential. */
export function authRoutes(controller: AuthController, authLimit: RequestHandler): Router {
  const router = Router();
  router.use(cookieParser()); // the refresh and CSRF cookies live under this path only
  router.post('/register', authLimit, validate(registerSchema), controller.register);
  router.post('/login', authLimit, validate(loginSchema), controller.login);
  router.post('/refresh', authLimit, validate(refreshSchema), controller.refresh);
  router.post('/logout', validate(logoutSchema), controller.logout);
  router.post('/logout-all', requireAuth, controller.logoutAll);
  router.get('/me', requireAuth, controller.me);
  router.get('/sessions', requireAuth, controller.sessions);
  router.delete('/sessions/:id', requireAuth, validate(sessionIdSchema), controller.revokeSession);
  router.get('/csrf', controller.csrf);
  router.post('/verify-email', authLimit, validate(verifyEmailSchema), controller.verifyEmail);
  router.post('/resend-verification', authLimit, validate(emailOnlySchema), controller.resendVerification);
  router.post('/forgot-password', authLimit, validate(emailOnlySchema), controller.forgotPassword);
  router.post('/reset-password', authLimit, validate(resetPasswordSchema), controller.resetPassword);
  router.post('/change-password', authLimit, requireAuth, validate(changePasswordSchema), controller.changePassword);
  return router;
}

/** The public signing keys, at the root as `/.well-known/jwks.json`. */
export function jwksRoutes(controller: AuthController): Router {
  const router = Router();
  router.get('/.well-known/jwks.json', controller.jwks);
  return router;
}
