import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

export interface NotificationPreferences {
  email: boolean;
  push: boolean;
  sessionReminders: boolean;
  weeklySummary: boolean;
}

export interface UserPreferencesModel extends Model<InferAttributes<UserPreferencesModel>, InferCreationAttributes<UserPreferencesModel>> {
  userId: string;
  language: string;
  theme: string;
  timezone: string;
  notifications: NotificationPreferences;
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

export function defineUserPreferences(sequelize: Sequelize) {
  return sequelize.define<UserPreferencesModel>(
    'UserPreferences',
    {
      userId: { type: DataTypes.UUID, primaryKey: true },
      language: { type: DataTypes.STRING(16), allowNull: false },
      theme: { type: DataTypes.STRING(16), allowNull: false },
      timezone: { type: DataTypes.STRING(64), allowNull: false },
      notifications: { type: DataTypes.JSON, allowNull: false },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'user_preferences' },
  );
}
