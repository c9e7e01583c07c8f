import { route, type RouteDefinition } from '../../http/route.js';
import { clientKey } from '../../middleware/rate-limit.js';
import { loginResponse, reauthenticatedResponse, type AuthModule } from '../auth/index.js';
import type { MagicLinkService } from './magic-link.service.js';
import type { PasswordSetter } from './password.service.js';
import { addPasswordSchema, magicLinkAccepted, magicLinkRequestSchema, magicLinkVerifySchema, passwordAddedResponse } from './passwordless.schemas.js';

const ACCEPTED = { status: 'accepted' as const, message: 'If the address can sign in, we have sent it a link.' };
const TAG = 'Sign in without a password';

/** `/api/auth`: magic links, and a password for an account that has none. */
export function passwordlessRoutes(magicLinks: MagicLinkService, password: PasswordSetter, auth: Pick<AuthModule, 'deliver'>): RouteDefinition[] {
  return [
    route(
      {
        method: 'POST', path: '/magic-link', access: 'public', rateLimit: 'auth', tag: TAG, summary: 'Mail a sign-in link', request: magicLinkRequestSchema,
        description: 'Always the same answer, whether or not the address has an account. The link (APP_URL/magic-link#token=…) works once, for 15 minutes, with the transport and remember-me chosen here. A client that asks too often gets 429; an address gets at most MAGIC_LINK_ADDRESS_MAX links per 15 minutes.',
        response: { status: 202, description: 'Generic answer', schema: magicLinkAccepted },
      },
      async ({ input, meta, req }) => {
        await magicLinks.request(input.body, clientKey(req), meta);
        return ACCEPTED;
      },
    ),
    route(
      {
        method: 'POST', path: '/magic-link/verify', access: 'public', rateLimit: 'auth', tag: TAG, summary: 'Sign in with the token of a magic link', request: magicLinkVerifySchema,
        description: 'The token from the link’s fragment. Signs in as POST /login does: for an account with a second factor the answer is { mfaRequired, challenge, methods } for POST /api/auth/mfa/verify.',
        response: { status: 200, description: 'The same answer as POST /login', schema: loginResponse },
      },
      async ({ input, meta, res }) => {
        const result = await magicLinks.verify(input.body.token, meta);
        return 'mfaRequired' in result ? result : auth.deliver(res, result.issued, result.transport);
      },
    ),
    route(
      {
        method: 'POST', path: '/magic-link/reauthenticate', access: 'authenticated', rateLimit: 'auth', tag: TAG, summary: 'Confirm it is you with a magic link, for a sensitive action', request: magicLinkVerifySchema,
        description: 'The token of a link requested (POST /magic-link) for the caller’s own address, used here instead of at /verify: for 5 minutes this session may do what POST /reauthenticate opens. How an account without a password steps up.',
        response: { status: 200, description: 'When the session authenticated, and until when that counts', schema: reauthenticatedResponse },
      },
      ({ actor, input, meta }) => magicLinks.reauthenticate(actor, input.body.token, meta),
    ),
    route(
      {
        method: 'POST', path: '/password', access: 'authenticated', stepUp: true, rateLimit: 'auth', tag: TAG, summary: 'Add a password to an account without one', request: addPasswordSchema,
        description: 'For an account made by a magic link or an OpenID provider; the password policy applies. An account that has a password changes it with POST /change-password (409 here).',
        response: { status: 200, description: 'Added', schema: passwordAddedResponse },
      },
      async ({ actor, input, meta }) => {
        await password.add(actor.userId, input.body.password, meta);
        return { status: 'password_added' as const, message: 'Your account has a password now.' };
      },
    ),
  ];
}
