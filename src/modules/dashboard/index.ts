import type { OrganizationsModule } from '../organizations/index.js';
import type { SessionsModule } from '../sessions/index.js';
import type { UsersModule } from '../users/index.js';
import { dashboardRoutes, organizationDashboardRoutes } from './dashboard.routes.js';
import { createDashboardService } from './dashboard.service.js';

/** Progress dashboards and organizations' dashboards; owns no table: the numbers come from the sessions, users and organizations modules. */
export function createDashboardModule(deps: {
  sessions: Pick<SessionsModule, 'stats'>;
  users: Pick<UsersModule, 'accounts'>;
  organizations: Pick<OrganizationsModule, 'care' | 'requireStaff' | 'counts'>;
}) {
  const service = createDashboardService({ stats: deps.sessions.stats, accounts: deps.users.accounts, organizations: deps.organizations });
  return { routes: dashboardRoutes(service), organizationRoutes: organizationDashboardRoutes(service) };
}
