import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';
export type EntryAuthor = 'client' | 'counselor';

export const ENTRY_KINDS = ['emotion', 'note', 'transcript'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

export interface SessionEntryModel extends Model<InferAttributes<SessionEntryModel>, InferCreationAttributes<SessionEntryModel>> {
  id: CreationOptional<string>;
  sessionId: string;
  userId: string;
  authorId: string | null;
  authorRole: EntryAuthor;
  kind: EntryKind;
  emotion: string | null;
  valence: number | null;
  arousal: number | null;
  text: string | null;
  speaker: string | null;
  at: Date;
  createdAt: CreationOptional<Date>;
}

export function defineSessionEntry(sequelize: Sequelize) {
  return sequelize.define<SessionEntryModel>(
    'SessionEntry',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      sessionId: { type: DataTypes.UUID, allowNull: false },
      userId: { type: DataTypes.UUID, allowNull: false },
      authorId: { type: DataTypes.UUID, allowNull: true },
      authorRole: { type: DataTypes.STRING(16), allowNull: false },
      kind: { type: DataTypes.STRING(16), allowNull: false },
      emotion: { type: DataTypes.STRING(32), allowNull: true },
      valence: { type: DataTypes.FLOAT, allowNull: true },
      arousal: { type: DataTypes.FLOAT, allowNull: true },
      text: { type: DataTypes.TEXT, allowNull: true },
      speaker: { type: DataTypes.STRING(16), allowNull: true },
      at: { type: DataTypes.DATE, allowNull: false },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'session_entries', updatedAt: false },
  );
}
