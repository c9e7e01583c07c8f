import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

/**
 * `queued` until an instance takes it, `running` while the archive is built, then `ready`
 * (downloadable once), `downloaded` (the archive is gone) or `failed`.
 */
export const DATA_EXPORT_STATUSES = ['queued', 'running', 'ready', 'downloaded', 'failed'] as const;
export type DataExportStatus = (typeof DATA_EXPORT_STATUSES)[number];

/**
 * One export archive of a person's data. The archive waits in object storage encrypted
 * under a key of its own, which is stored sealed under the person's data key (so erasing
 * the person erases the archive too); the row goes 24 hours after it was asked for.
 */
export interface DataExportModel extends Model<InferAttributes<DataExportModel>, InferCreationAttributes<DataExportModel>> {
  id: string;
  userId: string;
  status: DataExportStatus;
  storageKey: CreationOptional<string | null>;
  sealedKey: CreationOptional<string | null>;
  /** Bytes of the zip (the plaintext), once it is ready. */
  size: CreationOptional<number | null>;
  startedAt: CreationOptional<Date | null>;
  completedAt: CreationOptional<Date | null>;
  downloadedAt: CreationOptional<Date | null>;
  expiresAt: Date;
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

export function defineDataExport(sequelize: Sequelize) {
  return sequelize.define<DataExportModel>(
    'DataExport',
    {
      id: { type: DataTypes.UUID, primaryKey: true },
      userId: { type: DataTypes.UUID, allowNull: false },
      status: { type: DataTypes.STRING(16), allowNull: false },
      storageKey: { type: DataTypes.STRING(200), allowNull: true },
      sealedKey: { type: DataTypes.TEXT, allowNull: true },
      // BIGINT comes back from pg as a string: read it through Number().
      size: { type: DataTypes.BIGINT, allowNull: true, get(this: DataExportModel) { const size = this.getDataValue('size'); return size === null || size === undefined ? null : Number(size); } },
      startedAt: { type: DataTypes.DATE, allowNull: true },
      completedAt: { type: DataTypes.DATE, allowNull: true },
      downloadedAt: { type: DataTypes.DATE, allowNull: true },
      expiresAt: { type: DataTypes.DATE, allowNull: false },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'data_exports' },
  );
}
