import { Router, type RequestHandler } from 'express';
import { AppError } from '../../errors/app-error.js';
import type { Access } from '../../middleware/authorize.js';
import type { ErrorStats } from '../../errors/error-stats.js';

const monitoringAccess: RequestHandler = function monitoringAccess(req, _res, next) {
  if (req.monitoring || req.auth?.role === 'admin') return next();
  if (req.auth) throw AppError.forbidden('FORBIDDEN_ROLE', 'Only admins and monitoring may read error statistics.');
  throw AppError.unauthorized('MONITORING_ACCESS_REQUIRED', 'An admin access token or the monitoring token is required.');
};

/** Admins, or the bearer MONITORING_TOKEN (recognised, in constant time, by `authenticate`). */
export const requireMonitoringAccess = Object.assign(monitoringAccess, {
  access: { kind: 'roles', roles: ['admin'] } as Access,
  monitoring: true,
});

export function monitoringRoutes(stats: ErrorStats): Router {
  const router = Router();
  router.get('/errors/stats', requireMonitoringAccess, function errorStats(_req, res) {
    res.json(stats.snapshot());
  });
  return router;
}
