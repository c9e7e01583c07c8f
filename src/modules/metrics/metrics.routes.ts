import type { Registry } from 'prom-client';
import { route, type RouteDefinition } from '../../http/route.js';

/** `GET /metrics`: outside every rate-limit tier, for the METRICS_TOKEN, the MONITORING_TOKEN or an admin. */
export function metricsRoutes(registry: Registry): RouteDefinition[] {
  return [
    route(
      {
        method: 'GET', path: '/metrics', access: 'metrics', summary: 'Prometheus metrics',
        description: 'The Prometheus text format: HTTP requests by route template, auth outcomes, rate-limit refusals, database pool, Redis, audit sealing lag, process and event loop. No label carries a user, session, email or address.',
        response: { status: 200, description: 'Metrics in the Prometheus text exposition format', contentType: registry.contentType },
      },
      async ({ res }) => {
        const text = await registry.metrics();
        res.status(200).type(registry.contentType).send(text);
      },
    ),
  ];
}
