import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';
import type { OrgRole } from './membership.model.js';

export interface InvitationModel extends Model<InferAttributes<InvitationModel>, InferCreationAttributes<InvitationModel>> {
  id: CreationOptional<string>;
  organizationId: string;
  email: string;
  role: OrgRole;
  /** A client invited into the care of this counselor: accepting starts the care relationship. */
  counselorId: string | null;
  invitedBy: string | null;
  tokenHash: string;
  expiresAt: Date;
  acceptedAt: CreationOptional<Date | null>;
  acceptedBy: CreationOptional<string | null>;
  revokedAt: CreationOptional<Date | null>;
  createdAt: CreationOptional<Date>;
}

export function defineInvitation(sequelize: Sequelize) {
  return sequelize.define<InvitationModel>(
    'Invitation',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      organizationId: { type: DataTypes.UUID, allowNull: false },
      email: { type: DataTypes.STRING(254), allowNull: false },
      role: { type: DataTypes.STRING(16), allowNull: false },
      counselorId: { type: DataTypes.UUID, allowNull: true },
      invitedBy: { type: DataTypes.UUID, allowNull: true },
      tokenHash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
      expiresAt: { type: DataTypes.DATE, allowNull: false },
      acceptedAt: { type: DataTypes.DATE, allowNull: true },
      acceptedBy: { type: DataTypes.UUID, allowNull: true },
      revokedAt: { type: DataTypes.DATE, allowNull: true },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'invitations', updatedAt: false },
  );
}
