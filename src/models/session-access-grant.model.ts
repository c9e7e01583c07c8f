import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

/** Break-glass: a platform admin may read one session's content, for a short window, with a stated reason. */
export interface SessionAccessGrantModel extends Model<InferAttributes<SessionAccessGrantModel>, InferCreationAttributes<SessionAccessGrantModel>> {
  id: CreationOptional<string>;
  sessionId: string;
  adminId: string;
  reason: string;
  expiresAt: Date;
  createdAt: CreationOptional<Date>;
}

export function defineSessionAccessGrant(sequelize: Sequelize) {
  return sequelize.define<SessionAccessGrantModel>(
    'SessionAccessGrant',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      sessionId: { type: DataTypes.UUID, allowNull: false },
      adminId: { type: DataTypes.UUID, allowNull: false },
      reason: { type: DataTypes.STRING(500), allowNull: false },
      expiresAt: { type: DataTypes.DATE, allowNull: false },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'session_access_grants', updatedAt: false },
  );
}
