import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

/**
 * A mailed sign-in link: only the SHA-256 of its token is stored; bound to one address, to the
 * token transport and remember-me choice of the request; single use, short-lived. `userId` is
 * null for a link that creates the account; `link*` name an OpenID identity to attach.
 */
export interface MagicLinkModel extends Model<InferAttributes<MagicLinkModel>, InferCreationAttributes<MagicLinkModel>> {
  id: CreationOptional<string>;
  userId: string | null;
  email: string;
  name: CreationOptional<string | null>;
  tokenHash: string;
  transport: 'cookie' | 'body';
  rememberMe: boolean;
  linkProvider: CreationOptional<string | null>;
  linkIssuer: CreationOptional<string | null>;
  linkSubject: CreationOptional<string | null>;
  expiresAt: Date;
  usedAt: CreationOptional<Date | null>;
  createdAt: CreationOptional<Date>;
}

export function defineMagicLink(sequelize: Sequelize) {
  return sequelize.define<MagicLinkModel>(
    'MagicLink',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      userId: { type: DataTypes.UUID, allowNull: true },
      email: { type: DataTypes.STRING(254), allowNull: false },
      name: { type: DataTypes.STRING(100), allowNull: true },
      tokenHash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
      transport: { type: DataTypes.STRING(8), allowNull: false },
      rememberMe: { type: DataTypes.BOOLEAN, allowNull: false },
      linkProvider: { type: DataTypes.STRING(32), allowNull: true },
      linkIssuer: { type: DataTypes.STRING(512), allowNull: true },
      linkSubject: { type: DataTypes.STRING(255), allowNull: true },
      expiresAt: { type: DataTypes.DATE, allowNull: false },
      usedAt: { type: DataTypes.DATE, allowNull: true },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'magic_links', updatedAt: false },
  );
}
