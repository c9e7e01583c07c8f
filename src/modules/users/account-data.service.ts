import { Op, type Sequelize } from 'sequelize';
import { AppError } from '../../errors/app-error.js';
import type { DataCipher } from '../../lib/data-cipher.js';
import type { PasswordHasher } from '../../lib/passwords.js';
import { pseudonymiseIp } from '../../lib/pseudonymise.js';
import type { Models } from '../../models/index.js';
import type { RequestMeta } from '../auth/auth.service.js';
import type { SessionGuard } from '../auth/session-guard.js';
import type { SecurityEventRecorder } from '../security-events/security-event-recorder.js';
import type { SecurityEventsService } from '../security-events/security-events.service.js';
import { hiddenFromClient } from '../sessions/session-access.js';
import { sessionView, textContext } from '../sessions/sessions.service.js';
import type { UsersService } from './users.service.js';

export interface AccountDataDeps {
  sequelize: Sequelize;
  models: Pick<Models, 'User' | 'AuthSession' | 'CounselingSession' | 'SessionEntry' | 'SessionFeedback' | 'SecurityEvent'>;
  cipher: DataCipher;
  passwords: PasswordHasher;
  users: UsersService;
  securityEvents: SecurityEventsService;
  events: SecurityEventRecorder;
  guard: SessionGuard;
}

export const EXPORT_FORMAT_VERSION = 1;

/**
 * GDPR access and erasure (SPEC §4 Users, §6). The export holds what is stored about the
 * caller and nothing of anyone else: their own counseling sessions with the entries they
 * can see (a counselor's private notes stay out, as in the API), and for a counselor only
 * how many sessions they held. Deletion removes their data in one transaction and keeps
 * their security events, scrubbed of personal data, so the audit chain still verifies.
 */
export function createAccountDataService(deps: AccountDataDeps) {
  const { models, cipher } = deps;

  async function ownSessions(userId: string) {
    const sessions = await models.CounselingSession.findAll({ where: { userId }, order: [['startedAt', 'ASC']] });
    const ids = sessions.map((session) => session.id);
    const entries = ids.length
      ? await models.SessionEntry.findAll({ where: { [Op.and]: [{ sessionId: ids }, hiddenFromClient.where] }, order: [['at', 'ASC'], ['id', 'ASC']] })
      : [];
    const feedback = ids.length ? await models.SessionFeedback.findAll({ where: { sessionId: ids } }) : [];
    return sessions.map((session) => {
      const own = feedback.find((item) => item.sessionId === session.id);
      return {
        ...sessionView(session),
        entries: entries
          .filter((entry) => entry.sessionId === session.id)
          .map((entry) => ({
            id: entry.id,
            kind: entry.kind,
            authorRole: entry.authorRole,
            emotion: entry.emotion,
            valence: entry.valence,
            arousal: entry.arousal,
            text: entry.text === null ? null : cipher.decrypt(entry.text, textContext.entry(entry.id)),
            speaker: entry.speaker,
            at: entry.at.toISOString(),
          })),
        feedback: own
          ? {
              rating: own.rating,
              comment: own.comment === null ? null : cipher.decrypt(own.comment, textContext.feedback(session.id)),
              createdAt: own.createdAt.toISOString(),
            }
          : null,
      };
    });
  }

  return {
    async exportAll(userId: string, meta: RequestMeta) {
      const profile = await deps.users.profile(userId);
      const loginSessions = await models.AuthSession.findAll({ where: { userId }, order: [['createdAt', 'ASC']] });
      const document = {
        format: 'confidant-export',
        version: EXPORT_FORMAT_VERSION,
        exportedAt: new Date().toISOString(),
        profile,
        preferences: await deps.users.preferences(userId),
        loginSessions: loginSessions.map((session) => ({
          id: session.id,
          userAgent: session.userAgent,
          ip: pseudonymiseIp(session.ip),
          rememberMe: session.rememberMe,
          createdAt: session.createdAt.toISOString(),
          lastUsedAt: session.lastUsedAt.toISOString(),
          expiresAt: session.expiresAt.toISOString(),
          revokedAt: session.revokedAt?.toISOString() ?? null,
        })),
        counselingSessions: await ownSessions(userId),
        ...(profile.role === 'counselor' && {
          counseledSessions: { count: await models.CounselingSession.count({ where: { counselorId: userId } }) },
        }),
        securityEvents: await deps.securityEvents.forUser(userId),
      };
      deps.events.record({ type: 'data_exported', userId, ...meta });
      return document;
    },

    /** Re-authenticated erasure; every access token of the user is refused the moment it commits. */
    async deleteAccount(userId: string, password: string, meta: RequestMeta): Promise<void> {
      const user = await models.User.findByPk(userId);
      if (!user) throw AppError.notFound('user');
      if (!(await deps.passwords.verify(user.passwordHash, password))) {
        deps.events.record({ type: 'login_failure', userId, ...meta, metadata: { reason: 'delete_account_wrong_password' } });
        throw AppError.forbidden('INVALID_PASSWORD', 'The password is incorrect.');
      }
      await deps.events.flush(); // this user's queued events are written (and scrubbed) with the rest
      const sessionIds = (await models.AuthSession.findAll({ where: { userId }, attributes: ['id'] })).map((session) => session.id);
      await deps.sequelize.transaction(async (transaction) => {
        await models.SecurityEvent.update(
          { userId: null, ip: null, userAgent: null, metadata: {}, scrubbedAt: new Date() },
          { where: { userId }, transaction },
        );
        await user.destroy({ transaction });
      });
      await deps.guard.revoked(sessionIds);
      deps.events.record({ type: 'account_deleted', metadata: { role: user.role } });
    },
  };
}

export type AccountDataService = ReturnType<typeof createAccountDataService>;
