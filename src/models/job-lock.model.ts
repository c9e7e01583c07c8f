import { DataTypes, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

export interface JobLockModel extends Model<InferAttributes<JobLockModel>, InferCreationAttributes<JobLockModel>> {
  name: string;
  holder: string;
  lockedUntil: Date;
  lastRunAt: Date | null;
  lastResult: Record<string, unknown> | null;
}

export function defineJobLock(sequelize: Sequelize) {
  return sequelize.define<JobLockModel>(
    'JobLock',
    {
      name: { type: DataTypes.STRING(64), primaryKey: true },
      holder: { type: DataTypes.STRING(128), allowNull: false },
      lockedUntil: { type: DataTypes.DATE, allowNull: false },
      lastRunAt: { type: DataTypes.DATE, allowNull: true },
      lastResult: { type: DataTypes.JSON, allowNull: true },
    },
    { tableName: 'job_locks', timestamps: false },
  );
}
