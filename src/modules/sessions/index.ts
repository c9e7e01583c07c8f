import type { Infra } from '../../context.js';
import type { ConsentModule } from '../consent/index.js';
import type { OrganizationsModule } from '../organizations/index.js';
import type { SecurityEventsModule } from '../security-events/index.js';
import type { UsersModule } from '../users/index.js';
import { createBreakGlass } from './break-glass.js';
import { SessionChanges } from './session-changes.js';
import { createSessionData } from './session-data.js';
import { createSessionRetention } from './session-retention.js';
import { createSessionStats } from './session-stats.js';
import { contentViews } from './session-views.js';
import { sessionsRoutes } from './sessions.routes.js';
import { createSessionsService } from './sessions.service.js';

export { addEntrySchema, breakGlassResponse, breakGlassSchema, entryResponse, exportedSessionResponse, sessionResponse } from './sessions.schemas.js';
export type { SessionChange } from './session-changes.js';
export type { StatsScope } from './session-stats.js';
export { migrateToPersonKeys, type RotationProgress } from './text-rotation.js';
export { clientsOf } from './session-data.js';

/**
 * Counseling sessions and their content (`counseling_sessions`, `session_entries`,
 * `session_feedback`, `session_access_grants`): the rules, the report, the numbers dashboards
 * show and the GDPR view of a person's sessions. Content is decrypted in one place and read
 * on a need-to-know basis: who counsels whom comes from the organizations module.
 */
export function createSessionsModule(
  infra: Pick<Infra, 'sequelize' | 'models' | 'content' | 'config'>,
  deps: {
    users: Pick<UsersModule, 'accounts'>;
    organizations: Pick<OrganizationsModule, 'care' | 'retention'>;
    securityEvents: Pick<SecurityEventsModule, 'recorder'>;
    consent: Pick<ConsentModule, 'requireHealthDataConsent'>;
  },
) {
  const { sequelize, models, content, config } = infra;
  const changes = new SessionChanges();
  const breakGlass = createBreakGlass({ models, events: deps.securityEvents.recorder, windowMin: config.breakGlassWindowMin });
  const service = createSessionsService({
    sequelize,
    models,
    content,
    maxEntriesPerSession: config.maxEntriesPerSession,
    isActiveCounselor: deps.users.accounts.isActiveCounselor,
    care: deps.organizations.care,
    breakGlass,
    changes,
    requireHealthDataConsent: deps.consent.requireHealthDataConsent,
  });
  return {
    routes: sessionsRoutes(service),
    /** For the live channel: the same rules and service as the REST routes, and the changes they make. */
    live: {
      join: service.join,
      addEntry: service.addEntry,
      entryOf: service.entryOf,
      onChange: changes.listen.bind(changes),
    },
    /** For the admin route that opens it. */
    breakGlass: { grant: breakGlass.grant },
    /** For the files module: who may add and read a session's attachments. */
    attachmentAccess: service.attachmentAccess,
    stats: createSessionStats(sequelize, models),
    data: createSessionData(models, contentViews(content)),
    /** Which ended sessions' data is past its retention, and their entries: the privacy module's job purges them with their attachments. */
    retention: createSessionRetention(models, deps.organizations.retention),
    retentionJobs: { 'purge-access-grants': breakGlass.retentionJob },
  };
}

export type SessionsModule = ReturnType<typeof createSessionsModule>;
