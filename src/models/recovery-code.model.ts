import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

/** One of a person's ten recovery codes: only its keyed hash is stored; used once. */
export interface RecoveryCodeModel extends Model<InferAttributes<RecoveryCodeModel>, InferCreationAttributes<RecoveryCodeModel>> {
  id: CreationOptional<string>;
  userId: string;
  codeHash: string;
  usedAt: CreationOptional<Date | null>;
  createdAt: CreationOptional<Date>;
}

export function defineRecoveryCode(sequelize: Sequelize) {
  return sequelize.define<RecoveryCodeModel>(
    'RecoveryCode',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      userId: { type: DataTypes.UUID, allowNull: false },
      codeHash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
      usedAt: { type: DataTypes.DATE, allowNull: true },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'recovery_codes', updatedAt: false },
  );
}
