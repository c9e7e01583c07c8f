import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

export interface AuditCheckpointModel extends Model<InferAttributes<AuditCheckpointModel>, InferCreationAttributes<AuditCheckpointModel>> {
  id: CreationOptional<string>;
  throughSeq: number;
  anchorHash: string;
  purgedCount: number;
  createdAt: CreationOptional<Date>;
}

export function defineAuditCheckpoint(sequelize: Sequelize) {
  return sequelize.define<AuditCheckpointModel>(
    'AuditCheckpoint',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      throughSeq: { type: DataTypes.BIGINT, allowNull: false, unique: true },
      anchorHash: { type: DataTypes.STRING(64), allowNull: false },
      purgedCount: { type: DataTypes.INTEGER, allowNull: false },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'audit_checkpoints', updatedAt: false },
  );
}
