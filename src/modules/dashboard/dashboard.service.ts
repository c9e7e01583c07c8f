import type { Actor } from '../../http/route.js';
import type { OrganizationsModule } from '../organizations/index.js';
import type { SessionsModule } from '../sessions/index.js';
import type { UsersModule } from '../users/index.js';
import { recommendationsFor } from './recommendations.js';

/**
 * The dashboard of each role, composed from the numbers the sessions module computes in the
 * database and the account totals of the users module; recommendations are derived here.
 */
export interface DashboardDeps {
  stats: SessionsModule['stats'];
  accounts: UsersModule['accounts'];
  organizations: Pick<OrganizationsModule, 'care' | 'requireStaff' | 'counts'>;
}

export function createDashboardService(deps: DashboardDeps) {
  const { stats, accounts } = deps;

  async function scoped(scope: Parameters<typeof stats.forScope>[0], days: number) {
    const { lastSessions, ...numbers } = await stats.forScope(scope, days);
    return {
      windowDays: days,
      sessions: numbers.sessions,
      activeMinutes: numbers.activeMinutes,
      mood: { today: numbers.today, yesterday: numbers.yesterday, trend: numbers.trend },
      streakDays: numbers.streakDays,
      lastSessions,
      recommendations: recommendationsFor(numbers, new Date()),
    };
  }

  return {
    async summary(actor: Pick<Actor, 'userId' | 'role'>, days: number) {
      if (actor.role === 'admin') {
        const [users, sessions] = await Promise.all([accounts.totals(), stats.platform(days)]);
        const { activeMinutes, entriesInWindow, ...counts } = sessions;
        return { role: 'admin' as const, windowDays: days, users, sessions: counts, activeMinutes, entriesInWindow };
      }
      if (actor.role === 'counselor') {
        // Only the clients in the counselor's care now: a relationship that ended takes its sessions out.
        const inCare = await deps.organizations.care.clientsOf(actor.userId);
        const summary = await scoped({ counselorId: actor.userId, clients: inCare }, days);
        const rows = await stats.perClient(actor.userId, inCare, days);
        const names = await accounts.namesOf(rows.map((row) => row.userId));
        const clients = rows.map(({ userId, ...row }) => ({ userId, name: names.get(userId) ?? '', ...row }));
        return { role: 'counselor' as const, ...summary, clients };
      }
      return { role: 'user' as const, ...(await scoped({ clientId: actor.userId }, days)) };
    },

    /** For the organization's owners, admins and managers (and platform admins): aggregates computed in the database. */
    async organization(actor: Pick<Actor, 'userId' | 'role'>, organizationId: string, days: number) {
      await deps.organizations.requireStaff(actor, organizationId);
      const [counts, sessions] = await Promise.all([deps.organizations.counts(organizationId), stats.organization(organizationId, days)]);
      const ids = [...new Set([...counts.clientsInCare.keys(), ...sessions.counselors.map((row) => row.counselorId)])];
      const names = await accounts.namesOf(ids);
      const held = new Map(sessions.counselors.map((row) => [row.counselorId, row]));
      return {
        organizationId,
        windowDays: days,
        members: counts.members,
        care: counts.care,
        pendingInvitations: counts.pendingInvitations,
        sessions: { byStatus: sessions.byStatus, inWindow: sessions.inWindow, activeClients: sessions.activeClients },
        activeMinutes: sessions.activeMinutes,
        entriesInWindow: sessions.entriesInWindow,
        feedback: sessions.feedback,
        counselors: ids.map((userId) => ({
          userId,
          name: names.get(userId) ?? '',
          clientsInCare: counts.clientsInCare.get(userId) ?? 0,
          sessions: held.get(userId)?.sessions ?? 0,
          activeMinutes: held.get(userId)?.activeMinutes ?? 0,
        })),
      };
    },
  };
}

export type DashboardService = ReturnType<typeof createDashboardService>;
