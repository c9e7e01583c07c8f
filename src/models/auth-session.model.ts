import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

export interface AuthSessionModel extends Model<InferAttributes<AuthSessionModel>, InferCreationAttributes<AuthSessionModel>> {
  id: string;
  userId: string;
  refreshTokenHash: string;
  refreshSeed: string | null;
  previousTokenHash: CreationOptional<string | null>;
  rotatedAt: CreationOptional<Date | null>;
  generation: CreationOptional<number>;
  rememberMe: boolean;
  userAgent: string | null;
  ip: string | null;
  lastUsedAt: Date;
  expiresAt: Date;
  revokedAt: CreationOptional<Date | null>;
  revokedReason: CreationOptional<string | null>;
  /** The last time the person proved who they are in this session (sign-in or reauthentication). */
  authenticatedAt: CreationOptional<Date | null>;
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

export function defineAuthSession(sequelize: Sequelize) {
  return sequelize.define<AuthSessionModel>(
    'AuthSession',
    {
      id: { type: DataTypes.UUID, primaryKey: true },
      userId: { type: DataTypes.UUID, allowNull: false },
      refreshTokenHash: { type: DataTypes.STRING(64), allowNull: false },
      refreshSeed: { type: DataTypes.STRING(64), allowNull: true },
      previousTokenHash: { type: DataTypes.STRING(64), allowNull: true },
      rotatedAt: { type: DataTypes.DATE, allowNull: true },
      generation: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      rememberMe: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      userAgent: { type: DataTypes.STRING(256), allowNull: true },
      ip: { type: DataTypes.STRING(64), allowNull: true },
      lastUsedAt: { type: DataTypes.DATE, allowNull: false },
      expiresAt: { type: DataTypes.DATE, allowNull: false },
      revokedAt: { type: DataTypes.DATE, allowNull: true },
      revokedReason: { type: DataTypes.STRING(32), allowNull: true },
      authenticatedAt: { type: DataTypes.DATE, allowNull: true },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'auth_sessions' },
  );
}
