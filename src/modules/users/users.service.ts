import { AppError } from '../../errors/app-error.js';
import type { Models } from '../../models/index.js';
import { publicUser } from '../../models/user.model.js';
import type { ProfileCache } from './index.js';
import { PREFERENCE_DEFAULTS, type Preferences, type ProfileUpdate } from './users.schemas.js';

/** The caller's own profile (cached: read on most requests) and preferences. */
export function createUsersService(models: Pick<Models, 'User' | 'UserPreferences'>, profiles: ProfileCache) {
  async function loadUser(userId: string) {
    const user = await models.User.findByPk(userId);
    if (!user) throw AppError.notFound('user');
    return user;
  }

  function preferencesView(row: Preferences | null): Preferences {
    if (!row) return structuredClone(PREFERENCE_DEFAULTS);
    return { language: row.language, theme: row.theme, timezone: row.timezone, notifications: row.notifications };
  }

  return {
    profile(userId: string) {
      return profiles.get(userId, async () => publicUser(await loadUser(userId)));
    },

    async updateProfile(userId: string, changes: ProfileUpdate) {
      const user = await loadUser(userId);
      await user.update(changes);
      await profiles.changed(userId);
      return publicUser(user);
    },

    async preferences(userId: string): Promise<Preferences> {
      const row = await models.UserPreferences.findByPk(userId);
      return preferencesView(row as Preferences | null);
    },

    async replacePreferences(userId: string, preferences: Preferences): Promise<Preferences> {
      await models.UserPreferences.upsert({ userId, ...preferences });
      return preferences;
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
