import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

export const FILE_PURPOSES = ['avatar', 'orgLogo', 'attachment'] as const;
export type FilePurpose = (typeof FILE_PURPOSES)[number];
/** `pending`: a presigned upload was issued and not yet registered; `ready`: checked and in use. */
export type FileStatus = 'pending' | 'ready';

/**
 * One object in storage and what the API knows of it. For attachments, `wrappedKey` is the
 * file's own content key and `filename` the original name, both sealed under the data key of
 * the session's client (`enc2:`; older rows `enc1:`): the object alone is ciphertext, deleting
 * the row makes it unreadable, and destroying the client's key makes every copy unreadable.
 */
export interface StoredFileModel extends Model<InferAttributes<StoredFileModel>, InferCreationAttributes<StoredFileModel>> {
  id: string;
  purpose: FilePurpose;
  status: FileStatus;
  storageKey: string;
  uploadedBy: string | null;
  sessionId: CreationOptional<string | null>;
  organizationId: CreationOptional<string | null>;
  contentType: string;
  /** Bytes of the plaintext (for pending uploads: the size the client declared). */
  size: number;
  filename: CreationOptional<string | null>;
  wrappedKey: CreationOptional<string | null>;
  /** A pending upload that is not registered by then is swept. */
  expiresAt: CreationOptional<Date | null>;
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

export function defineStoredFile(sequelize: Sequelize) {
  return sequelize.define<StoredFileModel>(
    'StoredFile',
    {
      id: { type: DataTypes.UUID, primaryKey: true },
      purpose: { type: DataTypes.STRING(16), allowNull: false },
      status: { type: DataTypes.STRING(16), allowNull: false },
      storageKey: { type: DataTypes.STRING(200), allowNull: false, unique: true },
      uploadedBy: { type: DataTypes.UUID, allowNull: true },
      sessionId: { type: DataTypes.UUID, allowNull: true },
      organizationId: { type: DataTypes.UUID, allowNull: true },
      contentType: { type: DataTypes.STRING(100), allowNull: false },
      // BIGINT comes back from pg as a string: read it through Number().
      size: { type: DataTypes.BIGINT, allowNull: false, get(this: StoredFileModel) { return Number(this.getDataValue('size')); } },
      filename: { type: DataTypes.TEXT, allowNull: true },
      wrappedKey: { type: DataTypes.TEXT, allowNull: true },
      expiresAt: { type: DataTypes.DATE, allowNull: true },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'stored_files' },
  );
}
