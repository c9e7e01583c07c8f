import { route, type RouteDefinition } from '../../http/route.js';
import { organizationDashboardResponse, organizationDashboardSchema, summaryResponse, summarySchema } from './dashboard.schemas.js';
import type { DashboardService } from './dashboard.service.js';

/** `/api/dashboard`: the caller's own numbers, cacheable by their browser only. */
export function dashboardRoutes(dashboard: DashboardService): RouteDefinition[] {
  return [
    route(
      {
        method: 'GET', path: '/summary', access: 'authenticated', summary: 'Progress summary', request: summarySchema,
        response: { status: 200, description: 'Numbers for the caller’s role', schema: summaryResponse, cacheControl: 'private, max-age=60' },
      },
      ({ actor, input }) => dashboard.summary(actor, input.query.days),
    ),
  ];
}

/** `/api/organizations/:id/dashboard`: an organization's aggregates, for its staff. */
export function organizationDashboardRoutes(dashboard: DashboardService): RouteDefinition[] {
  return [
    route(
      {
        method: 'GET', path: '/:id/dashboard', access: 'authenticated', summary: 'An organization’s aggregates (owner, admin, manager; platform admins)', request: organizationDashboardSchema,
        response: { status: 200, description: 'Members, care relationships, sessions, active time, entries, ratings and each counselor’s share', schema: organizationDashboardResponse, cacheControl: 'private, max-age=60' },
      },
      ({ actor, input }) => dashboard.organization(actor, input.params.id, input.query.days),
    ),
  ];
}
