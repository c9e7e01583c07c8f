import { Op } from 'sequelize';
import type { Config } from '../../config/env.js';
import type { Models } from '../../models/index.js';

/** What an organization may set as the retention of its sessions' data (ORG_RETENTION_MIN_DAYS, ORG_RETENTION_MAX_DAYS). */
export interface RetentionBounds {
  min: number;
  max: number;
}

/**
 * The override in force: an organization's own days within the bounds configured now, which
 * may have moved since it was set (a lower maximum applies to every practice at the next run).
 */
export function overrideInForce(days: number | null, bounds: RetentionBounds): number | null {
  return days === null ? null : Math.min(bounds.max, Math.max(bounds.min, days));
}

/**
 * How long each organization's sessions' data is kept after they end: its override, or the
 * platform's SESSION_DATA_RETENTION_DAYS. Read by the sessions module's retention job.
 */
export function createRetentionPolicy(models: Pick<Models, 'Organization'>, retention: Config['retention']) {
  const bounds = retention.organizationDays;
  return {
    bounds,
    defaultDays: retention.sessionDataDays,

    /** The organizations with an override, and the days in force for each. */
    async overrides(): Promise<Map<string, number>> {
      const rows = await models.Organization.findAll({ where: { sessionDataRetentionDays: { [Op.ne]: null } }, attributes: ['id', 'sessionDataRetentionDays'] });
      return new Map(rows.map((row) => [row.id, overrideInForce(row.sessionDataRetentionDays, bounds)!]));
    },
  };
}

export type RetentionPolicy = ReturnType<typeof createRetentionPolicy>;
