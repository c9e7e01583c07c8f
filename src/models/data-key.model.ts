import { DataTypes, type InferAttributes, type InferCreationAttributes, type Model, type ModelStatic, type Sequelize } from 'sequelize';

/** A row of the key store: a person's data key, wrapped; a tombstone (nulls) once destroyed. */
export interface DataKeyRow extends Model<InferAttributes<DataKeyRow>, InferCreationAttributes<DataKeyRow>> {
  id: string;
  ownerId: string | null;
  wrapped: string | null;
  masterKeyId: string | null;
  createdAt: Date;
  destroyedAt: Date | null;
}

/** Defined on the key store's own connection (src/db/key-store.ts), not among the data's models. */
export function defineDataKeyRow(sequelize: Sequelize): ModelStatic<DataKeyRow> {
  return sequelize.define<DataKeyRow>(
    'KeyStoreDataKey',
    {
      id: { type: DataTypes.STRING(32), primaryKey: true },
      ownerId: { type: DataTypes.STRING(64), allowNull: true },
      wrapped: { type: DataTypes.TEXT, allowNull: true },
      masterKeyId: { type: DataTypes.STRING(16), allowNull: true },
      createdAt: { type: DataTypes.DATE, allowNull: false },
      destroyedAt: { type: DataTypes.DATE, allowNull: true },
    },
    { tableName: 'data_keys', timestamps: false, underscored: true },
  );
}

