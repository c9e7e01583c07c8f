import { z } from 'zod';
import { Reply, route, type RouteDefinition } from '../../http/route.js';
import { loginResponse, type AuthModule } from '../auth/index.js';
import type { IdentityService } from './identities.service.js';
import type { OidcCookie } from './oidc-cookie.js';
import type { OidcService } from './oidc.service.js';
import {
  identitiesResponse,
  identityIdSchema,
  linkedResponse,
  linkStartResponse,
  oidcCallbackSchema,
  oidcExchangeSchema,
  oidcLinkSchema,
  oidcStartSchema,
  providersResponse,
} from './passwordless.schemas.js';

const TAG = 'Sign in without a password';
const redirect = (location: string) => new Reply(302, undefined, { Location: location });

/** `/api/auth`: sign-in with an OpenID provider, and the identities linked to the caller's account. */
export function oidcRoutes(oidc: OidcService, identities: IdentityService, cookie: OidcCookie, auth: Pick<AuthModule, 'deliver'>): RouteDefinition[] {
  return [
    route(
      { method: 'GET', path: '/oidc/providers', access: 'public', tag: TAG, summary: 'The OpenID providers to sign in with', response: { status: 200, description: 'Id, display name, and whether it answers now', schema: providersResponse } },
      () => ({ items: oidc.providers() }),
    ),
    route(
      {
        method: 'GET', path: '/oidc/:provider/start', access: 'public', rateLimit: 'auth', tag: TAG, summary: 'Sign in with an OpenID provider (browser navigation)', request: oidcStartSchema,
        description: 'Redirects to the provider (authorization code, PKCE S256, state and nonce) and sets a short-lived HttpOnly, SameSite=Lax cookie binding the sign-in to this browser. The provider sends the browser back to /callback, which redirects to returnTo#code=… for POST /oidc/exchange. 503 while the provider cannot be reached.',
        response: { status: 302, description: 'To the provider’s authorization endpoint' },
      },
      async ({ input, res }) => {
        const { location, binding } = await oidc.start(input.params.provider, input.query);
        cookie.set(res, binding);
        return redirect(location);
      },
    ),
    route(
      {
        method: 'GET', path: '/oidc/:provider/callback', access: 'public', rateLimit: 'auth', tag: TAG, summary: 'Where the provider sends the browser back', request: oidcCallbackSchema,
        description: 'Checks state against the cookie, exchanges the code (with the PKCE verifier) and checks the ID token (issuer, audience, nonce, expiry, signature from the provider’s JWKS), then redirects to the SPA with a one-time code in the fragment; refusals are answered by the exchange. 400 OIDC_STATE_MISMATCH when the sign-in was not started in this browser or was used; 503 when the provider cannot be reached.',
        response: { status: 302, description: 'To returnTo#code=…' },
      },
      async ({ input, meta, req, res }) => {
        const query = req.originalUrl.indexOf('?');
        try {
          return redirect(await oidc.callback(input.params.provider, query === -1 ? '' : req.originalUrl.slice(query), input.query.state, cookie.read(req), meta));
        } finally {
          cookie.clear(res);
        }
      },
    ),
    route(
      {
        method: 'POST', path: '/oidc/exchange', access: 'public', rateLimit: 'auth', tag: TAG, summary: 'Exchange the one-time code from the callback', request: oidcExchangeSchema,
        description: 'Works once, within 10 minutes of the start. Answers as POST /login (tokens in the transport chosen at the start, or { mfaRequired, challenge, methods }); for a linking flow (POST /oidc/:provider/link) it needs the access token of the account that started it and answers { linked }. A refused sign-in is a problem: OIDC_LINK_REQUIRED (409, a link was mailed to the address), OIDC_EMAIL_NOT_VERIFIED (403), OIDC_NO_ACCOUNT (403), OIDC_LOGIN_FAILED (401).',
        response: { status: 200, description: 'A sign-in answer, or the linked identity', schema: z.union([loginResponse, linkedResponse]) },
      },
      async ({ actor, input, meta, res }) => {
        const result = await oidc.exchange(input.body.code, actor, meta);
        return 'issued' in result ? auth.deliver(res, result.issued, result.transport) : result;
      },
    ),
    route(
      {
        method: 'POST', path: '/oidc/:provider/link', access: 'authenticated', rateLimit: 'auth', tag: TAG, summary: 'Link an OpenID provider to the caller’s account', request: oidcLinkSchema,
        description: 'Sets the binding cookie (send the request with credentials) and answers the provider URL to navigate to; the exchange of the code that comes back must carry this account’s access token.',
        response: { status: 200, description: 'The provider’s authorization URL', schema: linkStartResponse },
      },
      async ({ actor, input, res }) => {
        const { location, binding } = await oidc.startLink(actor, input.params.provider, { transport: 'body', rememberMe: false, returnTo: input.body.returnTo });
        cookie.set(res, binding);
        return { url: location };
      },
    ),
    route(
      { method: 'GET', path: '/identities', access: 'authenticated', tag: TAG, summary: 'The caller’s provider identities', response: { status: 200, description: 'Identities, and whether the account has a password', schema: identitiesResponse } },
      ({ actor }) => identities.list(actor.userId),
    ),
    route(
      {
        method: 'DELETE', path: '/identities/:id', access: 'authenticated', stepUp: true, tag: TAG, summary: 'Unlink a provider identity', request: identityIdSchema,
        description: 'Refused (409 LAST_SIGN_IN_METHOD) when the account has no password, no passkey and no other identity.',
        response: { status: 204, description: 'Unlinked' },
      },
      ({ actor, input, meta }) => identities.unlink(actor.userId, input.params.id, meta),
    ),
  ];
}
