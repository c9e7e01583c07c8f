import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

export const ROLES = ['user', 'counselor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface UserModel extends Model<InferAttributes<UserModel>, InferCreationAttributes<UserModel>> {
  id: CreationOptional<string>;
  email: string;
  name: string;
  role: CreationOptional<Role>;
  passwordHash: string;
  avatarUrl: CreationOptional<string | null>;
  emailVerifiedAt: CreationOptional<Date | null>;
  disabledAt: CreationOptional<Date | null>;
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

export function defineUser(sequelize: Sequelize) {
  return sequelize.define<UserModel>(
    'User',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      email: { type: DataTypes.STRING(254), allowNull: false, unique: true },
      name: { type: DataTypes.STRING(100), allowNull: false },
      role: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'user' },
      passwordHash: { type: DataTypes.STRING(255), allowNull: false },
      avatarUrl: { type: DataTypes.STRING(2048), allowNull: true },
      emailVerifiedAt: { type: DataTypes.DATE, allowNull: true },
      disabledAt: { type: DataTypes.DATE, allowNull: true },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'users' },
  );
}

/** The user as the API shows it: never the hash. */
export function publicUser(user: UserModel) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    avatarUrl: user.avatarUrl ?? null,
    emailVerified: user.emailVerifiedAt !== null,
    createdAt: user.createdAt.toISOString(),
  };
}

export type PublicUser = ReturnType<typeof publicUser>;
