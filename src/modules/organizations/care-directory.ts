import type { Models } from '../../models/index.js';
import { STAFF_ROLES } from './org-roles.js';

/**
 * What other modules may know of care relationships and staff roles, read-only: counseling
 * sessions decide a counselor's access from it, dashboards their scope.
 */
export function createCareDirectory(models: Pick<Models, 'CareRelationship' | 'Membership'>) {
  return {
    /** The client's active relationships: a session names its counselor through one of them. */
    async activeForClient(clientId: string): Promise<{ id: string; organizationId: string; counselorId: string }[]> {
      const rows = await models.CareRelationship.findAll({ where: { clientId, endedAt: null }, attributes: ['id', 'organizationId', 'counselorId'], order: [['startedAt', 'ASC']] });
      return rows.flatMap((row) => (row.counselorId ? [{ id: row.id, organizationId: row.organizationId, counselorId: row.counselorId }] : []));
    },

    async isActive(organizationId: string, counselorId: string, clientId: string): Promise<boolean> {
      return (await models.CareRelationship.count({ where: { organizationId, counselorId, clientId, endedAt: null } })) > 0;
    },

    /** The clients a counselor is caring for now, per organization. */
    async clientsOf(counselorId: string): Promise<{ organizationId: string; clientId: string }[]> {
      const rows = await models.CareRelationship.findAll({ where: { counselorId, endedAt: null }, attributes: ['organizationId', 'clientId'] });
      return rows.map((row) => ({ organizationId: row.organizationId, clientId: row.clientId }));
    },

    /** The organizations where the person is an owner, admin or manager. */
    async staffOrganizationsOf(userId: string): Promise<string[]> {
      const rows = await models.Membership.findAll({ where: { userId, role: [...STAFF_ROLES] }, attributes: ['organizationId'] });
      return rows.map((row) => row.organizationId);
    },
  };
}

export type CareDirectory = ReturnType<typeof createCareDirectory>;
