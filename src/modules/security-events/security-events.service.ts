import { Op, fn, col, literal, type Transaction } from 'sequelize';
import { pseudonymiseIp } from '../../crypto/pseudonymise.js';
import type { Models } from '../../models/index.js';
import type { SecurityEventModel } from '../../models/security-event.model.js';
import type { AdminEventsQuery } from './security-events.schemas.js';

const SUSPICIOUS_FAILURES = 5;

function view(event: SecurityEventModel, ip: string | null) {
  return {
    id: event.id,
    type: event.type,
    userId: event.userId,
    ip,
    userAgent: event.userAgent,
    metadata: event.metadata,
    createdAt: event.createdAt.toISOString(),
  };
}

/** Reading security events: callers see their own with pseudonymised addresses, admins see everything. */
export function createSecurityEventsService(models: Pick<Models, 'SecurityEvent'>) {
  return {
    /** Newest first; without a limit, all of them (the export). */
    async forUser(userId: string, limit?: number) {
      const rows = await models.SecurityEvent.findAll({ where: { userId }, order: [['createdAt', 'DESC']], ...(limit !== undefined && { limit }) });
      return rows.map((row) => view(row, pseudonymiseIp(row.ip)));
    },

    async search(query: AdminEventsQuery) {
      const rows = await models.SecurityEvent.findAll({
        where: {
          ...(query.type && { type: query.type }),
          ...(query.userId && { userId: query.userId }),
          ...(query.ip && { ip: query.ip }),
          ...(query.since && { createdAt: { [Op.gte]: new Date(query.since) } }),
        },
        order: [['createdAt', 'DESC']],
        limit: query.limit,
      });
      return rows.map((row) => view(row, row.ip));
    },

    /**
     * A deleted person's events stay (the audit chain must still verify) without anything
     * that names them: the personal digest in the chain keeps the link intact.
     */
    async scrubUser(userId: string, options: { transaction?: Transaction } = {}): Promise<void> {
      await models.SecurityEvent.update({ userId: null, ip: null, userAgent: null, metadata: {}, scrubbedAt: new Date() }, { where: { userId }, ...options });
    },

    /**
     * The most failed logins from any one address since `since`: a number, so an alert can
     * watch "one address hammering" without an address ever becoming a metric label.
     */
    async busiestFailedLoginSource(since: Date): Promise<number> {
      const rows = (await models.SecurityEvent.findAll({
        attributes: [[fn('COUNT', col('id')), 'failures']],
        where: { type: 'login_failure', ip: { [Op.ne]: null }, createdAt: { [Op.gte]: since } },
        group: ['ip'],
        order: [[literal('failures'), 'DESC']],
        limit: 1,
        raw: true,
      })) as unknown as { failures: number | string }[];
      return Number(rows[0]?.failures ?? 0);
    },

    /** Addresses with more than 5 failed logins in the last hour, worst first. */
    async suspicious() {
      const rows = (await models.SecurityEvent.findAll({
        attributes: ['ip', [fn('COUNT', col('id')), 'failures'], [fn('MAX', col('created_at')), 'lastAt']],
        where: { type: 'login_failure', ip: { [Op.ne]: null }, createdAt: { [Op.gte]: new Date(Date.now() - 3_600_000) } },
        group: ['ip'],
        having: literal(`COUNT(id) > ${SUSPICIOUS_FAILURES}`),
        order: [[literal('failures'), 'DESC']],
        raw: true,
      })) as unknown as { ip: string; failures: number | string; lastAt: Date | string }[];
      return rows.map((row) => ({ ip: row.ip, failures: Number(row.failures), lastAt: new Date(row.lastAt).toISOString() }));
    },
  };
}

export type SecurityEventsService = ReturnType<typeof createSecurityEventsService>;
