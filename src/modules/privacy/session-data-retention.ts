import type { Sequelize } from 'sequelize';
import { batchesOf, type OrganizationForecast, type RetentionJob } from '../../infra/retention.js';
import type { FilesModule } from '../files/index.js';
import type { SessionsModule } from '../sessions/index.js';

export interface SessionDataRetentionDeps {
  sequelize: Sequelize;
  sessions: Pick<SessionsModule, 'retention'>;
  files: Pick<FilesModule, 'data'>;
}

/**
 * `purge-session-data`: the entries and attachments of ended sessions past their retention
 * (their organization's, or the platform's); the session row and its feedback stay. It spans
 * two modules, and sessions cannot reach files (files depends on sessions), so it is composed
 * here, as account deletion is: rows in one transaction per batch of sessions, objects
 * discarded after commit, what fails to go left to the orphan sweep.
 */
export function sessionDataRetention({ sequelize, sessions, files }: SessionDataRetentionDeps): RetentionJob {
  return {
    async count(now) {
      const removes = { entries: 0, attachments: 0 };
      const byOrganization = new Map<string | null, OrganizationForecast>();
      for (const batch of batchesOf(await sessions.retention.expired(now))) {
        const ids = batch.map((session) => session.id);
        const [entries, attachments] = await Promise.all([sessions.retention.entriesOf(ids), files.data.attachmentsOf(ids)]);
        for (const { id, organizationId, retentionDays } of batch) {
          const [entryCount, attachmentCount] = [entries.get(id) ?? 0, attachments.get(id) ?? 0];
          if (entryCount + attachmentCount === 0) continue;
          const forecast = byOrganization.get(organizationId) ?? { organizationId, retentionDays, sessions: 0, removes: { entries: 0, attachments: 0 } };
          forecast.sessions += 1;
          forecast.removes.entries! += entryCount;
          forecast.removes.attachments! += attachmentCount;
          byOrganization.set(organizationId, forecast);
          removes.entries += entryCount;
          removes.attachments += attachmentCount;
        }
      }
      const order = (forecast: OrganizationForecast) => forecast.organizationId ?? '';
      return { removes, byOrganization: [...byOrganization.values()].sort((a, b) => order(a).localeCompare(order(b))) };
    },

    async run(now) {
      const removed = { entries: 0, attachments: 0 };
      for (const batch of batchesOf((await sessions.retention.expired(now)).map((session) => session.id))) {
        const { entries, objects } = await sequelize.transaction(async (transaction) => ({
          entries: await sessions.retention.purgeEntries(batch, transaction),
          objects: await files.data.releaseSessions(batch, transaction),
        }));
        await files.data.discard(objects); // after commit; it never rejects: what fails is left to the orphan sweep
        removed.entries += entries;
        removed.attachments += objects.length;
      }
      return removed;
    },
  };
}
