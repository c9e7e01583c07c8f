import { AppError } from '../../errors/app-error.js';
import { route, type RouteDefinition } from '../../http/route.js';
import { indexResponse, livenessResponse, readinessResponse } from './health.schemas.js';
import type { HealthService } from './health.service.js';

function notReadyDetail(report: Awaited<ReturnType<HealthService['readiness']>>): string {
  if (report.checks.schema) return 'The database schema is behind this version: run `npm run db:migrate`.';
  return report.phase === 'ready' ? 'A dependency is not answering.' : `The service is ${report.phase}.`;
}

/** The root routes: an index, liveness and readiness (outside every rate-limit tier). */
export function healthRoutes(health: HealthService): RouteDefinition[] {
  return [
    route({ method: 'GET', path: '/', access: 'public', summary: 'API index', response: { status: 200, description: 'Name, version and links', schema: indexResponse } }, () => ({
      name: 'Confidant API',
      version: health.liveness().version,
      health: '/health',
      readiness: '/health/ready',
    })),
    route(
      { method: 'GET', path: '/health', access: 'public', summary: 'Liveness', response: { status: 200, description: '{ status, uptime, version, commit }; never touches the database', schema: livenessResponse } },
      () => health.liveness(),
    ),
    route(
      { method: 'GET', path: '/health/ready', access: 'public', summary: 'Readiness', response: { status: 200, description: 'Per-check status; 503 problem when a dependency is down', schema: readinessResponse } },
      async () => {
        const report = await health.readiness();
        if (!report.ready) {
          throw new AppError(503, 'NOT_READY', 'Service unavailable', {
            detail: notReadyDetail(report),
            errorClass: 'upstream',
            quiet: true, // probes repeat every few seconds; the health service logs each change once
            headers: { 'Retry-After': '5' },
            extensions: { phase: report.phase, checks: report.checks, proxyTrust: report.proxyTrust },
          });
        }
        return { status: report.status === 'degraded' ? ('degraded' as const) : ('ready' as const), phase: report.phase, checks: report.checks, proxyTrust: report.proxyTrust };
      },
    ),
  ];
}
