import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import { route, type RouteDefinition } from '../../http/route.js';
import { authenticationOptionsResponse, type MfaModule } from '../mfa/index.js';
import { publicUserResponse } from '../users/index.js';
import type { AccountRecovery } from './account-recovery.service.js';
import type { AuthCookies } from './auth.cookies.js';
import {
  acceptedResponse,
  changePasswordSchema,
  emailOnlySchema,
  jwksResponse,
  loginResponse,
  loginSchema,
  loginSessionsResponse,
  logoutSchema,
  mfaVerifySchema,
  passkeyLoginSchema,
  refreshSchema,
  reauthenticatedResponse,
  reauthenticateSchema,
  registerSchema,
  resetPasswordSchema,
  sessionIdSchema,
  statusResponse,
  tokenResponse,
  verifyEmailSchema,
} from './auth.schemas.js';
import type { AuthService } from './auth.service.js';
import type { MfaLogin } from './mfa-login.service.js';
import type { StepUp } from './step-up.js';
import { tokenTransport } from './auth.transport.js';
import { RefreshTokens } from './refresh-tokens.js';
import { JWKS_MAX_AGE_S, type SigningKeyStore } from './signing-keys.js';

const ACCEPTED = { status: 'accepted' as const, message: 'If the address belongs to an account, we have sent it an email.' };
const CSRF_HEADER_DOC = { name: 'X-CSRF-Token', description: 'Required with the cookie transport: the value from login or GET /api/auth/csrf.' };
const tokens = (description: string) => ({ status: 200, description, schema: tokenResponse });
const accepted = (description: string) => ({ status: 202, description, schema: acceptedResponse });
const RECOVERY = 'Account recovery';

export interface AuthRouteDeps {
  auth: AuthService;
  mfaLogin: MfaLogin;
  stepUp: StepUp;
  passkeyAssertions: MfaModule['passkeyAssertions'];
  recovery: AccountRecovery;
  cookies: AuthCookies;
}

/** `/api/auth`. The auth rate-limit tier guards every route that takes a credential or sends mail. */
export function authRoutes({ auth, mfaLogin, stepUp, passkeyAssertions, recovery, cookies }: AuthRouteDeps): RouteDefinition[] {
  const transport = tokenTransport(cookies);
  return [
    route(
      {
        method: 'POST', path: '/register', access: 'public', rateLimit: 'auth', summary: 'Register', request: registerSchema,
        description: 'Sends a verification email (or, for an existing address, a notice to its owner).',
        response: { status: 202, description: 'Generic answer, whether or not the email exists', schema: acceptedResponse },
      },
      async ({ input, meta }) => {
        await auth.register(input.body, meta);
        return { status: 'accepted' as const, message: 'Check your email to finish creating your account.' };
      },
    ),
    route(
      {
        method: 'POST', path: '/login', access: 'public', rateLimit: 'auth', summary: 'Sign in', request: loginSchema,
        description: 'For an account with a second factor a right password opens no session: the answer is { mfaRequired, challenge, methods } for POST /api/auth/mfa/verify.',
        response: { status: 200, description: 'Access token, user and session (the refresh token in a cookie or the body), or a second-factor challenge', schema: loginResponse },
      },
      async ({ input, meta, res }) => {
        const result = await auth.login(input.body, meta);
        return 'mfaRequired' in result ? result : transport.body(res, result, input.body.transport);
      },
    ),
    route(
      {
        method: 'POST', path: '/refresh', access: 'public', rateLimit: 'auth', summary: 'Rotate the refresh token', request: refreshSchema,
        description: 'Cookie transport requires X-CSRF-Token and an allowlisted Origin.', headers: [CSRF_HEADER_DOC],
        response: tokens('A new access token and refresh token'),
      },
      async ({ input, meta, req, res }) => {
        const presented = transport.presented(req, input.body.refreshToken);
        if (!presented) throw AppError.unauthorized('REFRESH_TOKEN_REQUIRED', 'No refresh token was presented.');
        try {
          return transport.body(res, await auth.refresh(presented.token, meta), presented.transport);
        } catch (error) {
          if (presented.transport === 'cookie' && error instanceof AppError && error.status === 401) cookies.clear(res);
          throw error;
        }
      },
    ),
    route(
      {
        method: 'POST', path: '/mfa/verify', access: 'public', rateLimit: 'auth', tag: 'Second factors', summary: 'Complete a sign-in with the second factor', request: mfaVerifySchema,
        description: 'The challenge from POST /login and a code from the authenticator app, or a recovery code (each works once). The session takes the transport and remember-me choice of the login.',
        response: tokens('The same answer as a sign-in without a second factor'),
      },
      async ({ input, meta, res }) => {
        const { issued, transport: chosen } = await mfaLogin.verify(input.body, meta);
        return transport.body(res, issued, chosen);
      },
    ),
    route(
      {
        method: 'POST', path: '/passkeys/login/options', access: 'public', rateLimit: 'auth', tag: 'Passkeys', summary: 'Options to sign in with a passkey',
        description: 'For navigator.credentials.get(). No email is asked and no credential listed: the passkey names its account. Also for POST /reauthenticate with a passkey.',
        response: { status: 200, description: 'PublicKeyCredentialRequestOptionsJSON', schema: authenticationOptionsResponse },
      },
      () => passkeyAssertions.options(),
    ),
    route(
      {
        method: 'POST', path: '/passkeys/login/verify', access: 'public', rateLimit: 'auth', tag: 'Passkeys', summary: 'Sign in with a passkey', request: passkeyLoginSchema,
        description: 'The assertion as PublicKeyCredential.toJSON() gives it; transport and rememberMe as for POST /login. A passkey is a second factor by itself.',
        response: tokens('The same answer as POST /login'),
      },
      async ({ input, meta, res }) => transport.body(res, await mfaLogin.passkeySignIn(input.body, meta), input.body.transport),
    ),
    route(
      {
        method: 'POST', path: '/reauthenticate', access: 'authenticated', withoutConsent: true, rateLimit: 'auth', summary: 'Confirm it is you, for a sensitive action', request: reauthenticateSchema,
        description: 'The password, a current authenticator code or a passkey assertion (options from POST /passkeys/login/options). For 5 minutes the session may delete the account, change the password, remove a second factor or replace recovery codes.',
        response: { status: 200, description: 'When the session authenticated, and until when that counts', schema: reauthenticatedResponse },
      },
      ({ actor, input, meta }) => stepUp.reauthenticate(actor, input.body, meta),
    ),
    // Ends the current session: the bearer's, or the one named by the refresh cookie or body token.
    route(
      { method: 'POST', path: '/logout', access: 'public', summary: 'End the current session', request: logoutSchema, headers: [{ name: 'X-CSRF-Token', description: 'Required when logging out by cookie.' }], response: { status: 204, description: 'Ended' } },
      async ({ actor, input, meta, req, res }) => {
        if (actor) {
          await auth.logout(actor.sessionId, actor.userId, meta);
        } else {
          const presented = transport.presented(req, input.body.refreshToken);
          if (!presented) throw AppError.unauthorized();
          await auth.logoutWithRefreshToken(presented.token, meta);
        }
        cookies.clear(res);
      },
    ),
    route(
      { method: 'POST', path: '/logout-all', access: 'authenticated', duringEnrolment: true, withoutConsent: true, summary: 'End every session of the caller', response: { status: 200, description: 'How many sessions ended', schema: z.strictObject({ endedSessions: z.number().int() }) } },
      async ({ actor, meta, res }) => {
        const ended = await auth.logoutAll(actor.userId, meta);
        cookies.clear(res);
        return { endedSessions: ended };
      },
    ),
    route({ method: 'GET', path: '/me', access: 'authenticated', duringEnrolment: true, withoutConsent: true, summary: 'The caller', response: { status: 200, description: 'The user', schema: publicUserResponse } }, ({ actor }) =>
      auth.me(actor.userId),
    ),
    route(
      { method: 'GET', path: '/sessions', access: 'authenticated', withoutConsent: true, summary: 'The caller’s login sessions', response: { status: 200, description: 'Sessions with a current flag', schema: loginSessionsResponse } },
      async ({ actor }) => ({ items: await auth.listSessions(actor.userId, actor.sessionId) }),
    ),
    route(
      { method: 'DELETE', path: '/sessions/:id', access: 'authenticated', withoutConsent: true, summary: 'Revoke one login session', request: sessionIdSchema, response: { status: 204, description: 'Revoked' } },
      ({ actor, input, meta }) => auth.revokeSession(actor.userId, input.params.id, meta),
    ),
    // A fresh CSRF token for the session named by the refresh cookie.
    route(
      { method: 'GET', path: '/csrf', access: 'public', summary: 'CSRF token for cookie-based refresh', response: { status: 200, description: '{ csrfToken }', schema: z.strictObject({ csrfToken: z.string() }) } },
      ({ req, res }) => {
        const sessionId = RefreshTokens.parse(cookies.refreshTokenFrom(req) ?? '')?.sessionId;
        if (!sessionId) throw AppError.unauthorized('REFRESH_TOKEN_REQUIRED', 'Sign in with the cookie transport first.');
        return { csrfToken: cookies.issueCsrf(req, res, sessionId) };
      },
    ),
    route(
      { method: 'POST', path: '/verify-email', access: 'public', rateLimit: 'auth', tag: RECOVERY, summary: 'Verify an email address', request: verifyEmailSchema, response: { status: 200, description: 'Verified', schema: statusResponse } },
      async ({ input, meta }) => {
        await recovery.verifyEmail(input.body.token, meta);
        return { status: 'verified' };
      },
    ),
    route(
      { method: 'POST', path: '/resend-verification', access: 'public', rateLimit: 'auth', tag: RECOVERY, summary: 'Send the verification email again', request: emailOnlySchema, response: accepted('Generic answer') },
      ({ input }) => {
        recovery.resendVerification(input.body.email);
        return ACCEPTED;
      },
    ),
    route(
      {
        method: 'POST', path: '/forgot-password', access: 'public', rateLimit: 'auth', tag: RECOVERY, summary: 'Request a password reset', request: emailOnlySchema,
        response: accepted('Generic answer, whether or not the email exists'),
      },
      ({ input, meta }) => {
        recovery.forgotPassword(input.body.email, meta);
        return ACCEPTED;
      },
    ),
    route(
      { method: 'POST', path: '/reset-password', access: 'public', rateLimit: 'auth', tag: RECOVERY, summary: 'Reset the password with the emailed token', request: resetPasswordSchema, response: { status: 200, description: 'Changed; every session ended', schema: statusResponse } },
      async ({ input, meta, res }) => {
        await recovery.resetPassword(input.body.token, input.body.password, meta);
        cookies.clear(res);
        return { status: 'password_reset', message: 'Your password was changed; sign in with the new one.' };
      },
    ),
    route(
      { method: 'POST', path: '/change-password', access: 'authenticated', stepUp: true, rateLimit: 'auth', tag: RECOVERY, summary: 'Change the password', request: changePasswordSchema, response: { status: 200, description: 'Changed; other sessions ended', schema: statusResponse } },
      async ({ actor, input, meta }) => {
        await recovery.changePassword(actor.userId, actor.sessionId, input.body, meta);
        return { status: 'password_changed', message: 'Your password was changed; your other sessions were signed out.' };
      },
    ),
  ];
}

/** The public signing keys, at the root as `/.well-known/jwks.json`. */
export function jwksRoutes(keys: SigningKeyStore): RouteDefinition[] {
  return [
    route(
      { method: 'GET', path: '/.well-known/jwks.json', access: 'public', summary: 'Public signing keys (JWKS)', response: { status: 200, description: 'EdDSA public keys', schema: jwksResponse, cacheControl: `public, max-age=${JWKS_MAX_AGE_S}` } },
      async () => (await keys.jwks()) as { keys: { kty: string; kid: string }[] },
    ),
  ];
}
