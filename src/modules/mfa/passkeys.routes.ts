import { route, type RouteDefinition } from '../../http/route.js';
import { passkeyIdSchema, passkeyListResponse, passkeyResponse, registerPasskeySchema, registrationOptionsResponse, renamePasskeySchema } from './passkeys.schemas.js';
import type { Passkeys } from './passkeys.service.js';

const TAG = 'Passkeys';

/** `/api/auth/passkeys...`: the caller's passkeys. Signing in with one is the auth module's (`/passkeys/login/...`). */
export function passkeyRoutes(passkeys: Passkeys): RouteDefinition[] {
  return [
    route(
      {
        method: 'POST', path: '/passkeys/register/options', access: 'authenticated', duringEnrolment: true, tag: TAG, summary: 'Options to create a passkey',
        description: 'For navigator.credentials.create(); the challenge is good for one registration, for 2 minutes.',
        response: { status: 200, description: 'PublicKeyCredentialCreationOptionsJSON', schema: registrationOptionsResponse },
      },
      ({ actor }) => passkeys.registrationOptions(actor.userId),
    ),
    route(
      {
        method: 'POST', path: '/passkeys/register/verify', access: 'authenticated', duringEnrolment: true, rateLimit: 'auth', tag: TAG, summary: 'Register the created passkey', request: registerPasskeySchema,
        description: 'The credential as PublicKeyCredential.toJSON() gives it, and an optional name.',
        response: { status: 201, description: 'The passkey', schema: passkeyResponse },
      },
      ({ actor, input, meta }) => passkeys.register(actor.userId, input.body, meta),
    ),
    route(
      { method: 'GET', path: '/passkeys', access: 'authenticated', duringEnrolment: true, tag: TAG, summary: 'The caller’s passkeys', response: { status: 200, description: '{ items }: names and dates, never a key', schema: passkeyListResponse } },
      async ({ actor }) => ({ items: await passkeys.list(actor.userId) }),
    ),
    route(
      { method: 'PATCH', path: '/passkeys/:id', access: 'authenticated', tag: TAG, summary: 'Rename a passkey', request: renamePasskeySchema, response: { status: 200, description: 'The passkey', schema: passkeyResponse } },
      ({ actor, input }) => passkeys.rename(actor.userId, input.params.id, input.body.name),
    ),
    route(
      {
        method: 'DELETE', path: '/passkeys/:id', access: 'authenticated', stepUp: true, tag: TAG, summary: 'Remove a passkey', request: passkeyIdSchema,
        description: 'Refused (409 LAST_SECOND_FACTOR) for the last second factor of a role that requires one, and (409 LAST_SIGN_IN_METHOD) for the last passkey of an account without a password or a provider identity.',
        response: { status: 204, description: 'Removed' },
      },
      ({ actor, input, meta }) => passkeys.remove(actor.userId, input.params.id, meta),
    ),
  ];
}
