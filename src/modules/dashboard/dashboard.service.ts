import type { Actor } from '../../http/route.js';
import type { OrganizationsModule } from '../organizations/index.js';
import type { SessionsModule } from '../sessions/index.js';
import type { UsersModule } from '../users/index.js';
import { recommendationsFor } from './recommendations.js';

/**
 * The dashboard of each role, composed from the numbers the sessions module computes in the
 * database and the account totals of the users module; recommendations are derived here.
 */
export function createDashboardService(deps: { stats: SessionsModule['stats']; accounts: UsersModule['accounts']; care: Pick<OrganizationsModule['care'], 'clientsOf'> }) {
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
        const inCare = await deps.care.clientsOf(actor.userId);
        const summary = await scoped({ counselorId: actor.userId, clients: inCare }, days);
        const rows = await stats.perClient(actor.userId, inCare, days);
        const names = await accounts.namesOf(rows.map((row) => row.userId));
        const clients = rows.map(({ userId, ...row }) => ({ userId, name: names.get(userId) ?? '', ...row }));
        return { role: 'counselor' as const, ...summary, clients };
      }
      return { role: 'user' as const, ...(await scoped({ clientId: actor.userId }, days)) };
    },
  };
}

export type DashboardService = ReturnType<typeof createDashboardService>;
