import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

export const SESSION_STATUSES = ['active', 'paused', 'ended'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export interface CounselingSessionModel extends Model<InferAttributes<CounselingSessionModel>, InferCreationAttributes<CounselingSessionModel>> {
  id: CreationOptional<string>;
  userId: string;
  counselorId: string | null;
  /** The organization of the care relationship the session was started in; null for sessions from before organizations. */
  organizationId: CreationOptional<string | null>;
  topic: string | null;
  status: CreationOptional<SessionStatus>;
  startedAt: Date;
  lastResumedAt: Date | null;
  pausedAt: CreationOptional<Date | null>;
  endedAt: CreationOptional<Date | null>;
  activeSeconds: CreationOptional<number>;
  entryCount: CreationOptional<number>;
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

export function defineCounselingSession(sequelize: Sequelize) {
  return sequelize.define<CounselingSessionModel>(
    'CounselingSession',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      userId: { type: DataTypes.UUID, allowNull: false },
      counselorId: { type: DataTypes.UUID, allowNull: true },
      organizationId: { type: DataTypes.UUID, allowNull: true },
      topic: { type: DataTypes.STRING(200), allowNull: true },
      status: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'active' },
      startedAt: { type: DataTypes.DATE, allowNull: false },
      lastResumedAt: { type: DataTypes.DATE, allowNull: true },
      pausedAt: { type: DataTypes.DATE, allowNull: true },
      endedAt: { type: DataTypes.DATE, allowNull: true },
      activeSeconds: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      entryCount: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'counseling_sessions' },
  );
}
