import { z } from 'zod';
import { route, type RouteDefinition } from '../../http/route.js';
import type { SecurityEventsModule } from '../security-events/index.js';
import { adminEventsSchema, eventListResponse, suspiciousResponse } from '../security-events/index.js';
import { resetFactorsResponse, resetFactorsSchema } from '../mfa/index.js';
import { breakGlassResponse, breakGlassSchema, type SessionsModule } from '../sessions/index.js';
import { adminUserResponse, listUsersSchema, updateAccessSchema } from '../users/index.js';
import type { AdminService } from './admin.service.js';

const ADMIN = { roles: ['admin'] } as const;

/** `/api/admin`: admins only, every route. */
export function adminRoutes(admin: AdminService, securityEvents: Pick<SecurityEventsModule, 'search' | 'suspicious'>, breakGlass: SessionsModule['breakGlass']): RouteDefinition[] {
  return [
    route(
      {
        method: 'GET', path: '/users', access: ADMIN, summary: 'List users', request: listUsersSchema,
        response: { status: 200, description: '{ items, nextCursor }', schema: z.strictObject({ items: z.array(adminUserResponse), nextCursor: z.string().nullable() }) },
      },
      ({ input }) => admin.listUsers(input.query),
    ),
    route(
      { method: 'PATCH', path: '/users/:id', access: ADMIN, summary: 'Change a user’s role or disable them', request: updateAccessSchema, response: { status: 200, description: 'The user', schema: adminUserResponse } },
      ({ actor, input, meta }) => admin.updateUser(actor.userId, input.params.id, input.body, meta),
    ),
    route(
      {
        method: 'POST', path: '/users/:id/mfa/reset', access: ADMIN, stepUp: true, summary: 'Remove a user’s second factors (they lost them all)', request: resetFactorsSchema,
        description: 'Needs a reason, which the user sees in their security events; ends their sessions. Never shows a secret.',
        response: { status: 200, description: 'What was removed', schema: resetFactorsResponse },
      },
      ({ actor, input, meta }) => admin.resetSecondFactors(actor.userId, input.params.id, input.body.reason, meta),
    ),
    route(
      { method: 'GET', path: '/security-events', access: ADMIN, summary: 'Search security events', request: adminEventsSchema, response: { status: 200, description: '{ items }', schema: eventListResponse } },
      async ({ input }) => ({ items: await securityEvents.search(input.query) }),
    ),
    route(
      {
        method: 'GET', path: '/security-events/suspicious', access: ADMIN, summary: 'Addresses with more than 5 failed logins in the last hour',
        response: { status: 200, description: '{ items }', schema: suspiciousResponse },
      },
      async () => ({ items: await securityEvents.suspicious() }),
    ),
    route(
      {
        method: 'POST', path: '/sessions/:id/access', access: ADMIN, summary: 'Break-glass: read one session’s content for a short window, with a stated reason',
        description: 'Recorded as break_glass_access, with every read under it, in the security events of the session’s client.',
        request: breakGlassSchema, response: { status: 201, description: 'The window', schema: breakGlassResponse },
      },
      ({ actor, input, meta }) => breakGlass.grant(actor.userId, input.params.id, input.body.reason, meta),
    ),
  ];
}
