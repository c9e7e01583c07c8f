import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

export interface OrganizationModel extends Model<InferAttributes<OrganizationModel>, InferCreationAttributes<OrganizationModel>> {
  id: CreationOptional<string>;
  name: string;
  slug: string;
  /** The API address of the registered logo (the files module sets it). */
  logoUrl: CreationOptional<string | null>;
  /** How long its sessions' data is kept after they end, when it must differ from SESSION_DATA_RETENTION_DAYS; null: the platform's. */
  sessionDataRetentionDays: CreationOptional<number | null>;
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

export function defineOrganization(sequelize: Sequelize) {
  return sequelize.define<OrganizationModel>(
    'Organization',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      name: { type: DataTypes.STRING(100), allowNull: false },
      slug: { type: DataTypes.STRING(50), allowNull: false, unique: true },
      logoUrl: { type: DataTypes.STRING(2048), allowNull: true },
      sessionDataRetentionDays: { type: DataTypes.INTEGER, allowNull: true },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'organizations' },
  );
}
