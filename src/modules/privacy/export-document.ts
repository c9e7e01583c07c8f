import type { AuthModule } from '../auth/index.js';
import type { ConsentModule } from '../consent/index.js';
import type { FilesModule } from '../files/index.js';
import type { MfaModule } from '../mfa/index.js';
import type { OrganizationsModule } from '../organizations/index.js';
import type { PasswordlessModule } from '../passwordless/index.js';
import type { SecurityEventsModule } from '../security-events/index.js';
import type { SessionsModule } from '../sessions/index.js';
import type { UsersModule } from '../users/index.js';

export const EXPORT_FORMAT_VERSION = 1;

export interface ExportSources {
  users: Pick<UsersModule, 'profile' | 'preferences'>;
  auth: Pick<AuthModule, 'loginSessionsForExport'>;
  mfa: Pick<MfaModule, 'factors'>;
  passwordless: Pick<PasswordlessModule, 'identitiesOf'>;
  sessions: Pick<SessionsModule, 'data'>;
  securityEvents: Pick<SecurityEventsModule, 'forUser'>;
  organizations: Pick<OrganizationsModule, 'data'>;
  consent: Pick<ConsentModule, 'history'>;
  files: Pick<FilesModule, 'data'>;
}

/**
 * Everything stored about a person, as one document composed from what each module exports
 * about them, and nothing of anyone else (GET /api/users/me/export, and the archive's export.json).
 */
export function exportDocument(sources: ExportSources) {
  const { users, auth, mfa, passwordless, sessions, securityEvents, organizations, consent, files } = sources;
  return async function documentFor(userId: string) {
    const profile = await users.profile(userId);
    const counselingSessions = await sessions.data.exportFor(userId);
    return {
      format: 'confidant-export' as const,
      version: EXPORT_FORMAT_VERSION,
      exportedAt: new Date().toISOString(),
      profile,
      preferences: await users.preferences(userId),
      loginSessions: await auth.loginSessionsForExport(userId),
      secondFactors: await mfa.factors.exportFor(userId),
      identities: await passwordless.identitiesOf(userId),
      counselingSessions,
      files: await files.data.exportFor(userId, counselingSessions.map((session) => session.id)),
      ...(profile.role === 'counselor' && { counseledSessions: { count: await sessions.data.countHeldBy(userId) } }),
      organizations: await organizations.data.exportFor(userId, profile.email),
      consents: await consent.history(userId),
      securityEvents: await securityEvents.forUser(userId),
    };
  };
}

export type ExportDocument = Awaited<ReturnType<ReturnType<typeof exportDocument>>>;
