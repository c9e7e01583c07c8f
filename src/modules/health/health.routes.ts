import { Router } from 'express';
import { AppError } from '../../errors/app-error.js';
import type { HealthService } from './health.service.js';

function notReadyDetail(report: Awaited<ReturnType<HealthService['readiness']>>): string {
  if (report.checks.schema) return 'The database schema is behind this version: run `npm run db:migrate`.';
  return report.phase === 'ready' ? 'A dependency is not answering.' : `The service is ${report.phase}.`;
}

export function healthRoutes(health: HealthService): Router {
  const router = Router();

  router.get('/', function apiIndex(_req, res) {
    res.json({ name: 'Confidant API', version: health.liveness().version, health: '/health', readiness: '/health/ready' });
  });

  router.get('/health', function liveness(_req, res) {
    res.json(health.liveness());
  });

  router.get('/health/ready', async function readiness(_req, res) {
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
    res.json({ status: report.status, phase: report.phase, checks: report.checks, proxyTrust: report.proxyTrust });
  });

  return router;
}
