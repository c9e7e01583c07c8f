import { Reply, route, type RouteDefinition } from '../../http/route.js';
import { deleteAccountSchema, eventListResponse, exportResponse, ownEventsSchema } from './privacy.schemas.js';
import type { PrivacyService } from './privacy.service.js';

/** `/api/users/me/...`: what the caller may know about, take away and erase of their own data. */
export function privacyRoutes(privacy: PrivacyService): RouteDefinition[] {
  return [
    route(
      { method: 'GET', path: '/me/security-events', access: 'authenticated', summary: 'The caller’s security events', request: ownEventsSchema, response: { status: 200, description: '{ items }', schema: eventListResponse } },
      async ({ actor, input }) => ({ items: await privacy.ownSecurityEvents(actor.userId, input.query.limit) }),
    ),
    route(
      { method: 'GET', path: '/me/export', access: 'authenticated', summary: 'Export everything stored about the caller (GDPR)', response: { status: 200, description: 'One JSON document', schema: exportResponse } },
      async ({ actor, meta }) =>
        new Reply(200, await privacy.exportAll(actor.userId, meta), { 'Content-Disposition': 'attachment; filename="confidant-export.json"' }),
    ),
    route(
      { method: 'DELETE', path: '/me', access: 'authenticated', stepUp: true, summary: 'Delete the account (the password, when it has one)', request: deleteAccountSchema,
        description: 'Needs a sign-in within 5 minutes (step-up). An account with a password sends it; one without (made by a magic link or an OpenID provider) sends {}: the step-up (a passkey, a code, POST /api/auth/magic-link/reauthenticate) is the proof.', response: { status: 204, description: 'Deleted' } },
      ({ actor, input, meta }) => privacy.deleteAccount(actor.userId, input.body.password, meta),
    ),
  ];
}
