import type { Infra } from '../../context.js';
import { createUserAccounts } from './user-accounts.js';
import { usersRoutes } from './users.routes.js';
import { createUsersService } from './users.service.js';

export { adminUserResponse, deleteAccountSchema, emailField, listUsersSchema, personName, preferencesResponse, publicUserResponse, updateAccessSchema } from './users.schemas.js';
export type { AccessUpdate, ListUsersQuery } from './users.schemas.js';
export type { UserAccounts } from './user-accounts.js';

/** Accounts, profiles and preferences: the `users` and `user_preferences` tables. */
export function createUsersModule(infra: Pick<Infra, 'sequelize' | 'models'>) {
  const service = createUsersService(infra.models);
  return {
    routes: usersRoutes(service),
    /** For sign-in, recovery, admins and dashboards: the account rows, through these functions only. */
    accounts: createUserAccounts(infra.sequelize, infra.models),
    profile: service.profile,
    preferences: service.preferences,
  };
}

export type UsersModule = ReturnType<typeof createUsersModule>;
