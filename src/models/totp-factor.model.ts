import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

/**
 * A person's authenticator app: at most one per user. The secret is field-encrypted and
 * bound to the row; `lastUsedStep` is the newest 30-second step a code was accepted for,
 * so no code is accepted twice. Unconfirmed until the first code proves the app has it.
 */
export interface TotpFactorModel extends Model<InferAttributes<TotpFactorModel>, InferCreationAttributes<TotpFactorModel>> {
  id: CreationOptional<string>;
  userId: string;
  secretEncrypted: string;
  confirmedAt: CreationOptional<Date | null>;
  lastUsedStep: CreationOptional<number | null>;
  lastUsedAt: CreationOptional<Date | null>;
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

export function defineTotpFactor(sequelize: Sequelize) {
  return sequelize.define<TotpFactorModel>(
    'TotpFactor',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      userId: { type: DataTypes.UUID, allowNull: false, unique: true },
      secretEncrypted: { type: DataTypes.STRING(255), allowNull: false },
      confirmedAt: { type: DataTypes.DATE, allowNull: true },
      // BIGINT comes back from pg as a string; the TOTP code converts.
      lastUsedStep: { type: DataTypes.BIGINT, allowNull: true },
      lastUsedAt: { type: DataTypes.DATE, allowNull: true },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'totp_factors' },
  );
}
