import type { Sequelize } from 'sequelize';
import { defineAuditCheckpoint } from './audit-checkpoint.model.js';
import { defineAuthSession } from './auth-session.model.js';
import { defineCareRelationship } from './care-relationship.model.js';
import { defineConsentRecord } from './consent-record.model.js';
import { defineCounselingSession } from './counseling-session.model.js';
import { defineDataExport } from './data-export.model.js';
import { defineIdempotencyKey } from './idempotency-key.model.js';
import { defineInvitation } from './invitation.model.js';
import { defineJobLock } from './job-lock.model.js';
import { defineLoginChallenge } from './login-challenge.model.js';
import { defineMagicLink } from './magic-link.model.js';
import { defineMembership } from './membership.model.js';
import { defineOneTimeToken } from './one-time-token.model.js';
import { defineOidcFlow } from './oidc-flow.model.js';
import { defineOidcIdentity } from './oidc-identity.model.js';
import { defineOrganization } from './organization.model.js';
import { definePasskey } from './passkey.model.js';
import { defineRecoveryCode } from './recovery-code.model.js';
import { defineSecurityEvent } from './security-event.model.js';
import { defineSessionAccessGrant } from './session-access-grant.model.js';
import { defineSessionEntry } from './session-entry.model.js';
import { defineSessionFeedback } from './session-feedback.model.js';
import { defineSigningKey } from './signing-key.model.js';
import { defineStoredFile } from './stored-file.model.js';
import { defineTotpFactor } from './totp-factor.model.js';
import { defineUserPreferences } from './user-preferences.model.js';
import { defineUser } from './user.model.js';
import { defineWebauthnChallenge } from './webauthn-challenge.model.js';

/**
 * Every model, defined on one Sequelize instance (so several apps with their own
 * databases can live in one process, as tests do) and associated once.
 */
export function defineModels(sequelize: Sequelize) {
  const User = defineUser(sequelize);
  const AuthSession = defineAuthSession(sequelize);
  const SigningKey = defineSigningKey(sequelize);
  const SecurityEvent = defineSecurityEvent(sequelize);
  const CounselingSession = defineCounselingSession(sequelize);
  const SessionEntry = defineSessionEntry(sequelize);
  const SessionFeedback = defineSessionFeedback(sequelize);
  const UserPreferences = defineUserPreferences(sequelize);
  const IdempotencyKey = defineIdempotencyKey(sequelize);
  const JobLock = defineJobLock(sequelize);
  const OneTimeToken = defineOneTimeToken(sequelize);
  const AuditCheckpoint = defineAuditCheckpoint(sequelize);
  const Organization = defineOrganization(sequelize);
  const Membership = defineMembership(sequelize);
  const Invitation = defineInvitation(sequelize);
  const CareRelationship = defineCareRelationship(sequelize);
  const SessionAccessGrant = defineSessionAccessGrant(sequelize);
  // Second factors (the mfa module) and sign-ins waiting for one (auth).
  const TotpFactor = defineTotpFactor(sequelize);
  const RecoveryCode = defineRecoveryCode(sequelize);
  const Passkey = definePasskey(sequelize);
  const WebauthnChallenge = defineWebauthnChallenge(sequelize);
  const LoginChallenge = defineLoginChallenge(sequelize);
  // Sign-in without a password (the passwordless module).
  const MagicLink = defineMagicLink(sequelize);
  const OidcIdentity = defineOidcIdentity(sequelize);
  const OidcFlow = defineOidcFlow(sequelize);
  // What each person has accepted (the consent module).
  const ConsentRecord = defineConsentRecord(sequelize);
  // Avatars, logos and counseling attachments (the files module).
  const StoredFile = defineStoredFile(sequelize);
  // Export archives waiting for their download (the privacy module).
  const DataExport = defineDataExport(sequelize);

  User.hasMany(AuthSession, { foreignKey: 'userId', onDelete: 'CASCADE' });
  AuthSession.belongsTo(User, { foreignKey: 'userId' });

  CounselingSession.hasMany(SessionEntry, { foreignKey: 'sessionId', onDelete: 'CASCADE' });
  CounselingSession.hasOne(SessionFeedback, { foreignKey: 'sessionId', onDelete: 'CASCADE' });

  return {
    User,
    AuthSession,
    SigningKey,
    SecurityEvent,
    CounselingSession,
    SessionEntry,
    SessionFeedback,
    UserPreferences,
    IdempotencyKey,
    JobLock,
    OneTimeToken,
    AuditCheckpoint,
    SessionAccessGrant,
    Organization,
    Membership,
    Invitation,
    CareRelationship,
    TotpFactor,
    RecoveryCode,
    Passkey,
    WebauthnChallenge,
    LoginChallenge,
    MagicLink,
    OidcIdentity,
    OidcFlow,
    ConsentRecord,
    StoredFile,
    DataExport,
  };
}

export type Models = ReturnType<typeof defineModels>;
