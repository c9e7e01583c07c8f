import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

export interface SessionFeedbackModel extends Model<InferAttributes<SessionFeedbackModel>, InferCreationAttributes<SessionFeedbackModel>> {
  id: CreationOptional<string>;
  sessionId: string;
  userId: string;
  rating: number;
  comment: string | null;
  createdAt: CreationOptional<Date>;
}

export function defineSessionFeedback(sequelize: Sequelize) {
  return sequelize.define<SessionFeedbackModel>(
    'SessionFeedback',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      sessionId: { type: DataTypes.UUID, allowNull: false, unique: true },
      userId: { type: DataTypes.UUID, allowNull: false },
      rating: { type: DataTypes.INTEGER, allowNull: false },
      comment: { type: DataTypes.TEXT, allowNull: true },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'session_feedback', updatedAt: false },
  );
}
