import { DataTypes, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Model, type Sequelize } from 'sequelize';

export const SECURITY_EVENT_TYPES = [
  'account_created',
  'account_deleted',
  'login_success',
  'login_failure',
  'logout',
  'password_change',
  'password_reset_request',
  'password_reset_complete',
  'email_verified',
  'session_revoked',
  'token_refresh',
  'token_reuse_detected',
  'token_validation_failure',
  'role_changed',
  'user_disabled',
  'rate_limited',
  'suspicious_activity',
  'data_exported',
  'data_export_requested',
  'org_created',
  'org_deleted',
  'org_retention_changed',
  'member_invited',
  'member_joined',
  'member_removed',
  'org_role_changed',
  'care_started',
  'care_ended',
  'break_glass_access',
  // Second factors and step-up
  'mfa_enabled',
  'mfa_disabled',
  'mfa_challenge_failed',
  'recovery_code_used',
  'recovery_codes_regenerated',
  'passkey_added',
  'passkey_removed',
  'reauthenticated',
  // The live channel
  'live_connection_refused',
  // Sign-in without a password
  'magic_link_requested',
  'magic_link_used',
  'oidc_login',
  'oidc_login_refused',
  'identity_linked',
  'identity_unlinked',
  // Consent records
  'consent_given',
  'consent_withdrawn',
] as const;
export type SecurityEventType = (typeof SECURITY_EVENT_TYPES)[number];

export interface SecurityEventModel extends Model<InferAttributes<SecurityEventModel>, InferCreationAttributes<SecurityEventModel>> {
  id: CreationOptional<string>;
  userId: string | null;
  type: SecurityEventType;
  ip: string | null;
  userAgent: string | null;
  metadata: Record<string, unknown>;
  /** The organization the event happened in, for its admins' view; chained, and kept when the user is scrubbed. */
  organizationId: CreationOptional<string | null>;
  createdAt: CreationOptional<Date>;
  seq: CreationOptional<number | null>;
  prevHash: CreationOptional<string | null>;
  hash: CreationOptional<string | null>;
  personalDigest: CreationOptional<string | null>;
  scrubbedAt: CreationOptional<Date | null>;
}

export function defineSecurityEvent(sequelize: Sequelize) {
  return sequelize.define<SecurityEventModel>(
    'SecurityEvent',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      userId: { type: DataTypes.UUID, allowNull: true },
      type: { type: DataTypes.STRING(48), allowNull: false },
      ip: { type: DataTypes.STRING(64), allowNull: true },
      userAgent: { type: DataTypes.STRING(256), allowNull: true },
      metadata: { type: DataTypes.JSON, allowNull: false, defaultValue: {} },
      organizationId: { type: DataTypes.UUID, allowNull: true },
      createdAt: DataTypes.DATE,
      // BIGINT comes back from pg as a string; the chain code converts.
      seq: { type: DataTypes.BIGINT, allowNull: true },
      prevHash: { type: DataTypes.STRING(64), allowNull: true },
      hash: { type: DataTypes.STRING(64), allowNull: true },
      personalDigest: { type: DataTypes.STRING(64), allowNull: true },
      scrubbedAt: { type: DataTypes.DATE, allowNull: true },
    },
    { tableName: 'security_events', updatedAt: false },
  );
}
