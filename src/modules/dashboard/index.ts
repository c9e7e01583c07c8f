import type { OrganizationsModule } from '../organizations/index.js';
import type { SessionsModule } from '../sessions/index.js';
import type { UsersModule } from '../users/index.js';
import { dashboardRoutes } from './dashboard.routes.js';
import { createDashboardService } from './dashboard.service.js';

/** Progress dashboards; owns no table: the numbers come from the sessions and users modules. */
export function createDashboardModule(deps: { sessions: Pick<SessionsModule, 'stats'>; users: Pick<UsersModule, 'accounts'>; organizations: Pick<OrganizationsModule, 'care'> }) {
  return { routes: dashboardRoutes(createDashboardService({ stats: deps.sessions.stats, accounts: deps.users.accounts, care: deps.organizations.care })) };
}
