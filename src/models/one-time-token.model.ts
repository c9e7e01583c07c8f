import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

export type TokenPurpose = 'verify_email' | 'reset_password';

export interface OneTimeTokenModel extends Model<InferAttributes<OneTimeTokenModel>, InferCreationAttributes<OneTimeTokenModel>> {
  id: CreationOptional<string>;
  userId: string;
  purpose: TokenPurpose;
  tokenHash: string;
  expiresAt: Date;
  usedAt: CreationOptional<Date | null>;
  createdAt: CreationOptional<Date>;
}

export function defineOneTimeToken(sequelize: Sequelize) {
  return sequelize.define<OneTimeTokenModel>(
    'OneTimeToken',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      userId: { type: DataTypes.UUID, allowNull: false },
      purpose: { type: DataTypes.STRING(32), allowNull: false },
      tokenHash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
      expiresAt: { type: DataTypes.DATE, allowNull: false },
      usedAt: { type: DataTypes.DATE, allowNull: true },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'one_time_tokens', updatedAt: false },
  );
}
