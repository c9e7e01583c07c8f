import { Op, type Transaction, type WhereOptions } from 'sequelize';
import { countPer, retentionCutoff } from '../../infra/retention.js';
import type { CounselingSessionModel } from '../../models/counseling-session.model.js';
import type { Models } from '../../models/index.js';
import type { RetentionPolicy } from '../organizations/index.js';

/** An ended session whose data is past its retention, and the retention that applied. */
export interface ExpiredSession {
  id: string;
  organizationId: string | null;
  retentionDays: number;
}

/**
 * Which ended sessions' data is past its retention: the override of the session's
 * organization, or the platform's SESSION_DATA_RETENTION_DAYS for the others (and for sessions
 * in no organization). The session row and its feedback stay; its entries go here, its
 * attachments through the files module, both in the transaction of the job that composes them.
 */
export function createSessionRetention(models: Pick<Models, 'CounselingSession' | 'SessionEntry'>, policy: Pick<RetentionPolicy, 'defaultDays' | 'overrides'>) {
  return {
    /** Every ended session past its retention at `now`, in id order. */
    async expired(now: Date): Promise<ExpiredSession[]> {
      const overrides = await policy.overrides();
      const byDays = new Map<number, string[]>();
      for (const [organizationId, days] of overrides) byDays.set(days, [...(byDays.get(days) ?? []), organizationId]);
      const platform: WhereOptions<CounselingSessionModel> = {
        endedAt: { [Op.lt]: retentionCutoff(now, policy.defaultDays) },
        ...(overrides.size > 0 && { [Op.or]: [{ organizationId: null }, { organizationId: { [Op.notIn]: [...overrides.keys()] } }] }),
      };
      const overridden = [...byDays].map(([days, organizationIds]) => ({ organizationId: organizationIds, endedAt: { [Op.lt]: retentionCutoff(now, days) } }));
      const rows = await models.CounselingSession.findAll({
        where: { status: 'ended', [Op.or]: [platform, ...overridden] },
        attributes: ['id', 'organizationId'],
        order: [['id', 'ASC']],
        raw: true,
      });
      const daysOf = (organizationId: string | null) => (organizationId === null ? undefined : overrides.get(organizationId)) ?? policy.defaultDays;
      return rows.map((row) => ({ id: row.id, organizationId: row.organizationId ?? null, retentionDays: daysOf(row.organizationId ?? null) }));
    },

    /** How many entries each of these sessions has (sessions without any are absent). */
    entriesOf: (sessionIds: string[]) => countPer(models.SessionEntry, 'sessionId', { sessionId: sessionIds }),

    purgeEntries: (sessionIds: string[], transaction: Transaction) => models.SessionEntry.destroy({ where: { sessionId: sessionIds }, transaction }),
  };
}

export type SessionRetention = ReturnType<typeof createSessionRetention>;
