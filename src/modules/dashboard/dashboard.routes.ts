import { route, type RouteDefinition } from '../../http/route.js';
import { summaryResponse, summarySchema } from './dashboard.schemas.js';
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
