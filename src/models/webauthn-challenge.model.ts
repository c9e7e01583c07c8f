import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

export type WebauthnCeremony = 'register' | 'authenticate';

/** A WebAuthn challenge between its options and its verification: single use, short-lived. */
export interface WebauthnChallengeModel extends Model<InferAttributes<WebauthnChallengeModel>, InferCreationAttributes<WebauthnChallengeModel>> {
  id: CreationOptional<string>;
  challenge: string;
  ceremony: WebauthnCeremony;
  /** The registering user; null for a sign-in, where the passkey names its owner. */
  userId: string | null;
  expiresAt: Date;
  createdAt: CreationOptional<Date>;
}

export function defineWebauthnChallenge(sequelize: Sequelize) {
  return sequelize.define<WebauthnChallengeModel>(
    'WebauthnChallenge',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      challenge: { type: DataTypes.STRING(128), allowNull: false, unique: true },
      ceremony: { type: DataTypes.STRING(16), allowNull: false },
      userId: { type: DataTypes.UUID, allowNull: true },
      expiresAt: { type: DataTypes.DATE, allowNull: false },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'webauthn_challenges', updatedAt: false },
  );
}
