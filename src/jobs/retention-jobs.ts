import { Op, type Sequelize } from 'sequelize';
import type { Config } from '../config/env.js';
import type { Models } from '../models/index.js';
import type { AuditChain } from '../modules/security-events/audit-chain.js';

const DAY_MS = 86_400_000;
/** Revoked sessions stay a day for the owner's session list and for investigating reuse. */
const REVOKED_SESSION_KEEP_MS = DAY_MS;

export interface RetentionDeps {
  sequelize: Sequelize;
  models: Pick<Models, 'AuthSession' | 'OneTimeToken' | 'SessionEntry' | 'CounselingSession' | 'IdempotencyKey'>;
  config: Pick<Config, 'retention'>;
  /** Security events leave through the chain, which records the purge as a checkpoint. */
  auditChain: AuditChain;
}

export type RetentionJob = (deps: RetentionDeps, now: Date) => Promise<number>;

/**
 * The data-lifecycle jobs of docs/DESIGN.md §7.4. Each deletes what is past its date and returns how
 * many rows it removed: running one twice, or on two instances, removes nothing more.
 */
export const RETENTION_JOBS: Record<string, RetentionJob> = {
  'purge-login-sessions': ({ models }, now) =>
    models.AuthSession.destroy({
      where: { [Op.or]: [{ expiresAt: { [Op.lt]: now } }, { revokedAt: { [Op.lt]: new Date(now.getTime() - REVOKED_SESSION_KEEP_MS) } }] },
    }),

  'purge-one-time-tokens': ({ models }, now) =>
    models.OneTimeToken.destroy({ where: { [Op.or]: [{ expiresAt: { [Op.lt]: now } }, { usedAt: { [Op.ne]: null } }] } }),

  'purge-idempotency-keys': ({ models }, now) => models.IdempotencyKey.destroy({ where: { expiresAt: { [Op.lt]: now } } }),

  'purge-security-events': ({ auditChain, config }, now) =>
    auditChain.purgeBefore(new Date(now.getTime() - config.retention.securityEventDays * DAY_MS)),

  'purge-session-data': async ({ models, config }, now) => {
    const cutoff = new Date(now.getTime() - config.retention.sessionDataDays * DAY_MS);
    const expired = await models.CounselingSession.findAll({ where: { status: 'ended', endedAt: { [Op.lt]: cutoff } }, attributes: ['id'] });
    if (expired.length === 0) return 0;
    return models.SessionEntry.destroy({ where: { sessionId: expired.map((session) => session.id) } });
  },
};
