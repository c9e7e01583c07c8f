import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

/**
 * One sign-in at an OpenID provider. Started (the browser gets a cookie whose hash is
 * `bindingHash`), called back once (state, nonce and PKCE verifier checked), exchanged once
 * (the one-time code the SPA received, stored hashed). `linkUserId`: a signed-in person
 * attaching the identity to their account.
 */
export interface OidcFlowModel extends Model<InferAttributes<OidcFlowModel>, InferCreationAttributes<OidcFlowModel>> {
  id: CreationOptional<string>;
  provider: string;
  bindingHash: CreationOptional<string | null>;
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  transport: 'cookie' | 'body';
  rememberMe: boolean;
  linkUserId: CreationOptional<string | null>;
  resultUserId: CreationOptional<string | null>;
  exchangeCodeHash: CreationOptional<string | null>;
  /** What the callback's ID token named; for a link flow, attached at the exchange. */
  identityIssuer: CreationOptional<string | null>;
  identitySubject: CreationOptional<string | null>;
  identityEmail: CreationOptional<string | null>;
  /** Why the sign-in was refused (a problem code), answered at the exchange. */
  refusal: CreationOptional<string | null>;
  startedAt: CreationOptional<Date | null>;
  calledBackAt: CreationOptional<Date | null>;
  exchangedAt: CreationOptional<Date | null>;
  expiresAt: Date;
  createdAt: CreationOptional<Date>;
}

export function defineOidcFlow(sequelize: Sequelize) {
  return sequelize.define<OidcFlowModel>(
    'OidcFlow',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      provider: { type: DataTypes.STRING(32), allowNull: false },
      bindingHash: { type: DataTypes.STRING(64), allowNull: true, unique: true },
      state: { type: DataTypes.STRING(64), allowNull: false, unique: true },
      nonce: { type: DataTypes.STRING(64), allowNull: false },
      codeVerifier: { type: DataTypes.STRING(128), allowNull: false },
      returnTo: { type: DataTypes.STRING(2048), allowNull: false },
      transport: { type: DataTypes.STRING(8), allowNull: false },
      rememberMe: { type: DataTypes.BOOLEAN, allowNull: false },
      linkUserId: { type: DataTypes.UUID, allowNull: true },
      resultUserId: { type: DataTypes.UUID, allowNull: true },
      exchangeCodeHash: { type: DataTypes.STRING(64), allowNull: true, unique: true },
      identityIssuer: { type: DataTypes.STRING(512), allowNull: true },
      identitySubject: { type: DataTypes.STRING(255), allowNull: true },
      identityEmail: { type: DataTypes.STRING(254), allowNull: true },
      refusal: { type: DataTypes.STRING(48), allowNull: true },
      startedAt: { type: DataTypes.DATE, allowNull: true },
      calledBackAt: { type: DataTypes.DATE, allowNull: true },
      exchangedAt: { type: DataTypes.DATE, allowNull: true },
      expiresAt: { type: DataTypes.DATE, allowNull: false },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'oidc_flows', updatedAt: false },
  );
}
