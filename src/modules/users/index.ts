import type { Infra } from '../../context.js';
import { InvalidatedCache } from '../../infra/invalidated-cache.js';
import type { PublicUser } from '../../models/user.model.js';
import { createUserAccounts } from './user-accounts.js';
import { usersRoutes } from './users.routes.js';
import { createUsersService } from './users.service.js';

export { adminUserResponse, deleteAccountSchema, emailField, listUsersSchema, personName, preferencesResponse, publicUserResponse, updateAccessSchema } from './users.schemas.js';
export type { AccessUpdate, ListUsersQuery } from './users.schemas.js';
export type { UserAccounts } from './user-accounts.js';
export { hasPassword, NO_PASSWORD } from './user-accounts.js';

/** The caller's profile, invalidated by every write to the account in this module. */
export type ProfileCache = InvalidatedCache<PublicUser>;

/** How long a cached profile may live when no invalidation can arrive (Redis away). */
const PROFILE_CACHE_MS = 60_000;

/** Accounts, profiles and preferences: the `users` and `user_preferences` tables. */
export function createUsersModule(infra: Pick<Infra, 'sequelize' | 'models' | 'shared'>) {
  const profiles: ProfileCache = new InvalidatedCache('user-changes', PROFILE_CACHE_MS, infra.shared);
  const service = createUsersService(infra.models, profiles);
  return {
    routes: usersRoutes(service),
    /** For sign-in, recovery, admins and dashboards: the account rows, through these functions only. */
    accounts: createUserAccounts(infra.sequelize, infra.models, profiles),
    profiles,
    profile: service.profile,
    preferences: service.preferences,
  };
}

export type UsersModule = ReturnType<typeof createUsersModule>;
