import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

export interface CareRelationshipModel extends Model<InferAttributes<CareRelationshipModel>, InferCreationAttributes<CareRelationshipModel>> {
  id: CreationOptional<string>;
  organizationId: string;
  /** Null once the counselor's account is deleted (the relationship ended before). */
  counselorId: string | null;
  clientId: string;
  createdBy: string | null;
  startedAt: Date;
  endedAt: CreationOptional<Date | null>;
  endedBy: CreationOptional<string | null>;
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

export function defineCareRelationship(sequelize: Sequelize) {
  return sequelize.define<CareRelationshipModel>(
    'CareRelationship',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      organizationId: { type: DataTypes.UUID, allowNull: false },
      counselorId: { type: DataTypes.UUID, allowNull: true },
      clientId: { type: DataTypes.UUID, allowNull: false },
      createdBy: { type: DataTypes.UUID, allowNull: true },
      startedAt: { type: DataTypes.DATE, allowNull: false },
      endedAt: { type: DataTypes.DATE, allowNull: true },
      endedBy: { type: DataTypes.UUID, allowNull: true },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'care_relationships' },
  );
}
