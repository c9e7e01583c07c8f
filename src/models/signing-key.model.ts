import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

export interface SigningKeyModel extends Model<InferAttributes<SigningKeyModel>, InferCreationAttributes<SigningKeyModel>> {
  kid: string;
  publicJwk: string;
  privateKeyEnc: string;
  createdAt: CreationOptional<Date>;
  /** When the key starts signing; null on rows from before staged rotation (they signed from creation). */
  activatesAt: CreationOptional<Date | null>;
  retireAt: CreationOptional<Date | null>;
}

export function defineSigningKey(sequelize: Sequelize) {
  return sequelize.define<SigningKeyModel>(
    'SigningKey',
    {
      kid: { type: DataTypes.STRING(64), primaryKey: true },
      publicJwk: { type: DataTypes.TEXT, allowNull: false },
      privateKeyEnc: { type: DataTypes.TEXT, allowNull: false },
      createdAt: DataTypes.DATE,
      activatesAt: { type: DataTypes.DATE, allowNull: true },
      retireAt: { type: DataTypes.DATE, allowNull: true },
    },
    { tableName: 'jwks', updatedAt: false },
  );
}
