import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

/** Roles inside one organization, highest first. */
export const ORG_ROLES = ['owner', 'admin', 'manager', 'counselor', 'client'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

export interface MembershipModel extends Model<InferAttributes<MembershipModel>, InferCreationAttributes<MembershipModel>> {
  id: CreationOptional<string>;
  organizationId: string;
  userId: string;
  role: OrgRole;
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

export function defineMembership(sequelize: Sequelize) {
  return sequelize.define<MembershipModel>(
    'Membership',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      organizationId: { type: DataTypes.UUID, allowNull: false },
      userId: { type: DataTypes.UUID, allowNull: false },
      role: { type: DataTypes.STRING(16), allowNull: false },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'memberships' },
  );
}
