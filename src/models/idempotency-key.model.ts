import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

export interface IdempotencyKeyModel extends Model<InferAttributes<IdempotencyKeyModel>, InferCreationAttributes<IdempotencyKeyModel>> {
  id: CreationOptional<string>;
  userId: string;
  key: string;
  scope: string;
  requestHash: string;
  responseStatus: number;
  responseBody: unknown;
  createdAt: CreationOptional<Date>;
  expiresAt: Date;
}

export function defineIdempotencyKey(sequelize: Sequelize) {
  return sequelize.define<IdempotencyKeyModel>(
    'IdempotencyKey',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      userId: { type: DataTypes.UUID, allowNull: false },
      key: { type: DataTypes.STRING(255), allowNull: false },
      scope: { type: DataTypes.STRING(64), allowNull: false },
      requestHash: { type: DataTypes.STRING(64), allowNull: false },
      responseStatus: { type: DataTypes.INTEGER, allowNull: false },
      responseBody: { type: DataTypes.JSON, allowNull: false },
      createdAt: DataTypes.DATE,
      expiresAt: { type: DataTypes.DATE, allowNull: false },
    },
    { tableName: 'idempotency_keys', updatedAt: false },
  );
}
