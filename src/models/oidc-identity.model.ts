import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

/** A person's account at an OpenID provider, keyed by (issuer, subject): never by email, which can change hands. */
export interface OidcIdentityModel extends Model<InferAttributes<OidcIdentityModel>, InferCreationAttributes<OidcIdentityModel>> {
  id: CreationOptional<string>;
  userId: string;
  provider: string;
  issuer: string;
  subject: string;
  /** The address the provider gave at linking, for the owner's list only. */
  email: string | null;
  createdAt: CreationOptional<Date>;
  lastUsedAt: CreationOptional<Date | null>;
}

export function defineOidcIdentity(sequelize: Sequelize) {
  return sequelize.define<OidcIdentityModel>(
    'OidcIdentity',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      userId: { type: DataTypes.UUID, allowNull: false },
      provider: { type: DataTypes.STRING(32), allowNull: false },
      issuer: { type: DataTypes.STRING(512), allowNull: false },
      subject: { type: DataTypes.STRING(255), allowNull: false },
      email: { type: DataTypes.STRING(254), allowNull: true },
      createdAt: DataTypes.DATE,
      lastUsedAt: { type: DataTypes.DATE, allowNull: true },
    },
    { tableName: 'oidc_identities', updatedAt: false },
  );
}
