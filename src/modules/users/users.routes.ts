import { route, type RouteDefinition } from '../../http/route.js';
import { preferencesResponse, preferencesSchema, publicUserResponse, updateProfileSchema } from './users.schemas.js';
import type { UsersService } from './users.service.js';

/** `/api/users`: the caller's own account, and nobody else's. */
export function usersRoutes(users: UsersService): RouteDefinition[] {
  const profile = { status: 200, description: 'The profile', schema: publicUserResponse };
  const preferences = { status: 200, description: 'The preferences', schema: preferencesResponse };
  return [
    route({ method: 'GET', path: '/me', access: 'authenticated', summary: 'Profile', response: profile }, ({ actor }) => users.profile(actor.userId)),
    route(
      { method: 'PATCH', path: '/me', access: 'authenticated', summary: 'Update the profile', request: updateProfileSchema, response: profile },
      ({ actor, input }) => users.updateProfile(actor.userId, input.body),
    ),
    route({ method: 'GET', path: '/me/preferences', access: 'authenticated', summary: 'Preferences', response: preferences }, ({ actor }) =>
      users.preferences(actor.userId),
    ),
    route(
      { method: 'PUT', path: '/me/preferences', access: 'authenticated', summary: 'Replace the preferences', request: preferencesSchema, response: preferences },
      ({ actor, input }) => users.replacePreferences(actor.userId, input.body),
    ),
  ];
}
