import { Router } from 'express';
import type { AppContext } from './app.js';
import { healthRoutes } from './modules/health/health.routes.js';
import { monitoringRoutes } from './modules/monitoring/monitoring.routes.js';

/** Every feature router, mounted in one place. */
export function mountRoutes(app: Router, context: AppContext): void {
  app.use(healthRoutes(context.health));
  app.use('/api', monitoringRoutes(context.config, context.errorHandler.stats));
}
