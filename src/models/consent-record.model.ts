import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';
import type { ConsentDocumentName } from '../config/env.js';

export type ConsentAction = 'given' | 'withdrawn';

/** One acceptance or withdrawal of a document's version; the history is never rewritten. */
export interface ConsentRecordModel extends Model<InferAttributes<ConsentRecordModel>, InferCreationAttributes<ConsentRecordModel>> {
  id: CreationOptional<number>;
  userId: string;
  document: ConsentDocumentName;
  version: string;
  action: ConsentAction;
  createdAt: CreationOptional<Date>;
}

export function defineConsentRecord(sequelize: Sequelize) {
  return sequelize.define<ConsentRecordModel>(
    'ConsentRecord',
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      userId: { type: DataTypes.UUID, allowNull: false },
      document: { type: DataTypes.STRING(32), allowNull: false },
      version: { type: DataTypes.STRING(32), allowNull: false },
      action: { type: DataTypes.STRING(16), allowNull: false },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'consent_records', updatedAt: false },
  );
}
