import { Op } from 'sequelize';
import type { Infra } from '../../context.js';
import type { UsersModule } from '../users/index.js';
import { createSessionData } from './session-data.js';
import { createSessionStats } from './session-stats.js';
import { contentViews } from './session-views.js';
import { sessionsRoutes } from './sessions.routes.js';
import { createSessionsService } from './sessions.service.js';

export { exportedSessionResponse, sessionResponse } from './sessions.schemas.js';
export type { StatsScope } from './session-stats.js';
export { rotateDataKeys, type RotationProgress } from './text-rotation.js';

const DAY_MS = 86_400_000;

/**
 * Counseling sessions and their content (`counseling_sessions`, `session_entries`,
 * `session_feedback`): the rules, the report, the numbers dashboards
 * show and the GDPR view of a person's sessions. Content is decrypted in one place.
 */
export function createSessionsModule(infra: Pick<Infra, 'sequelize' | 'models' | 'cipher' | 'config'>, deps: { users: Pick<UsersModule, 'accounts'> }) {
  const { sequelize, models, cipher, config } = infra;
  const service = createSessionsService({
    sequelize,
    models,
    cipher,
    maxEntriesPerSession: config.maxEntriesPerSession,
    isActiveCounselor: deps.users.accounts.isActiveCounselor,
  });
  return {
    routes: sessionsRoutes(service),
    stats: createSessionStats(sequelize, models),
    data: createSessionData(models, contentViews(cipher)),
    retentionJobs: {
      'purge-session-data': async (now: Date) => {
        const cutoff = new Date(now.getTime() - config.retention.sessionDataDays * DAY_MS);
        const expired = await models.CounselingSession.findAll({ where: { status: 'ended', endedAt: { [Op.lt]: cutoff } }, attributes: ['id'] });
        if (expired.length === 0) return 0;
        return models.SessionEntry.destroy({ where: { sessionId: expired.map((session) => session.id) } });
      },
    },
  };
}

export type SessionsModule = ReturnType<typeof createSessionsModule>;
