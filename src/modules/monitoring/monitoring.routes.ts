import { Router, type RequestHandler } from 'express';
import type { Config } from '../../config/env.js';
import { AppError } from '../../errors/app-error.js';
import type { ErrorStats } from '../../errors/error-stats.js';
import { constantTimeEqual } from '../../lib/constant-time.js';

/** A bearer MONITORING_TOKEN, compared in constant time; without one configured, nobody. */
export function requireMonitoringToken(config: Config): RequestHandler {
  const expected = config.secrets.monitoringToken;
  return function monitoringAccess(req, _res, next) {
    const header = req.get('authorization') ?? '';
    const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
    if (expected !== undefined && token !== '' && constantTimeEqual(token, expected)) {
      next();
      return;
    }
    next(AppError.unauthorized('MONITORING_ACCESS_REQUIRED', 'A monitoring token is required.'));
  };
}

export function monitoringRoutes(config: Config, stats: ErrorStats): Router {
  const router = Router();
  router.get('/errors/stats', requireMonitoringToken(config), function errorStats(_req, res) {
    res.json(stats.snapshot());
  });
  return router;
}
