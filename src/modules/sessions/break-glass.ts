import { Op } from 'sequelize';
import { AppError } from '../../errors/app-error.js';
import type { RequestMeta } from '../../http/request-meta.js';
import { retentionCutoff, tableJob } from '../../infra/retention.js';
import type { CounselingSessionModel } from '../../models/counseling-session.model.js';
import type { Models } from '../../models/index.js';
import type { SecurityEventRecorder } from '../security-events/index.js';

const GRANT_KEEP_DAYS = 1;

export interface BreakGlassDeps {
  models: Pick<Models, 'CounselingSession' | 'SessionAccessGrant'>;
  events: SecurityEventRecorder;
  windowMin: number;
}

/**
 * Break-glass: a platform admin states why they must read one session's content and gets
 * BREAK_GLASS_WINDOW_MIN minutes of read access to it. The grant and every read under it are
 * `break_glass_access` events of the session's client, so the client sees them in their own
 * security events (and the organization's admins in its events).
 */
export function createBreakGlass(deps: BreakGlassDeps) {
  const { models, events } = deps;

  function record(session: Pick<CounselingSessionModel, 'id' | 'userId' | 'organizationId'>, meta: Partial<RequestMeta>, metadata: Record<string, unknown>) {
    events.record({ type: 'break_glass_access', userId: session.userId, organizationId: session.organizationId, ...meta, metadata: { sessionId: session.id, ...metadata } });
  }

  return {
    async grant(adminId: string, sessionId: string, reason: string, meta: RequestMeta) {
      const session = await models.CounselingSession.findByPk(sessionId, { attributes: ['id', 'userId', 'organizationId'] });
      if (!session) throw AppError.notFound('session');
      const expiresAt = new Date(Date.now() + deps.windowMin * 60_000);
      await models.SessionAccessGrant.create({ sessionId, adminId, reason, expiresAt });
      record(session, meta, { by: adminId, access: 'granted', reason, expiresAt: expiresAt.toISOString() });
      return { sessionId, reason, expiresAt: expiresAt.toISOString() };
    },

    async isOpen(adminId: string, sessionId: string): Promise<boolean> {
      return (await models.SessionAccessGrant.count({ where: { sessionId, adminId, expiresAt: { [Op.gt]: new Date() } } })) > 0;
    },

    recordRead(session: CounselingSessionModel, adminId: string, read: 'entries' | 'report' | 'attachment', meta: Partial<RequestMeta>): void {
      record(session, meta, { by: adminId, access: 'read', read });
    },

    /** Grants are kept a day past their window; the events are the lasting record. */
    retentionJob: tableJob('accessGrants', models.SessionAccessGrant, (now) => ({ expiresAt: { [Op.lt]: retentionCutoff(now, GRANT_KEEP_DAYS) } })),
  };
}

export type BreakGlass = ReturnType<typeof createBreakGlass>;
