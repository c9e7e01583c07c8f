import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

/**
 * A sign-in waiting for its second factor: issued after the right password, bound to the
 * user and to the login's transport and remember-me choice; only its hash is stored.
 */
export interface LoginChallengeModel extends Model<InferAttributes<LoginChallengeModel>, InferCreationAttributes<LoginChallengeModel>> {
  id: CreationOptional<string>;
  userId: string;
  tokenHash: string;
  transport: 'cookie' | 'body';
  rememberMe: boolean;
  /** Codes tried against it; each try is counted before the code is checked, so at most five are ever checked. */
  attempts: CreationOptional<number>;
  expiresAt: Date;
  usedAt: CreationOptional<Date | null>;
  createdAt: CreationOptional<Date>;
}

export function defineLoginChallenge(sequelize: Sequelize) {
  return sequelize.define<LoginChallengeModel>(
    'LoginChallenge',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      userId: { type: DataTypes.UUID, allowNull: false },
      tokenHash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
      transport: { type: DataTypes.STRING(8), allowNull: false },
      rememberMe: { type: DataTypes.BOOLEAN, allowNull: false },
      attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      expiresAt: { type: DataTypes.DATE, allowNull: false },
      usedAt: { type: DataTypes.DATE, allowNull: true },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'login_challenges', updatedAt: false },
  );
}
