import type { Sequelize } from 'sequelize';
import { defineAuthSession } from './auth-session.model.js';
import { defineSecurityEvent } from './security-event.model.js';
import { defineSigningKey } from './signing-key.model.js';
import { defineUser } from './user.model.js';

/**
 * Every model, defined on one Sequelize instance (so several apps with their own
 * databases can live in one process, as tests do) and associated once.
 */
export function defineModels(sequelize: Sequelize) {
  const User = defineUser(sequelize);
  const AuthSession = defineAuthSession(sequelize);
  const SigningKey = defineSigningKey(sequelize);
  const SecurityEvent = defineSecurityEvent(sequelize);

  User.hasMany(AuthSession, { foreignKey: 'userId', onDelete: 'CASCADE' });
  AuthSession.belongsTo(User, { foreignKey: 'userId' });

  return { User, AuthSession, SigningKey, SecurityEvent };
}

export type Models = ReturnType<typeof defineModels>;
