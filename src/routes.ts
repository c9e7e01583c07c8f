import { Router } from 'express';
import type { AppContext } from './context.js';
import { adminRoutes } from './modules/admin/admin.routes.js';
import { createAuthController } from './modules/auth/auth.controller.js';
import { authRoutes, jwksRoutes } from './modules/auth/auth.routes.js';
import { dashboardRoutes } from './modules/dashboard/dashboard.routes.js';
import { docsRoutes } from './modules/docs/docs.routes.js';
import { healthRoutes } from './modules/health/health.routes.js';
import { monitoringRoutes } from './modules/monitoring/monitoring.routes.js';
import { createSessionsController } from './modules/sessions/sessions.controller.js';
import { sessionsRoutes } from './modules/sessions/sessions.routes.js';
import { usersRoutes } from './modules/users/users.routes.js';

/** Every feature router, mounted in one place. */
export function mountRoutes(app: Router, context: AppContext): void {
  const auth = createAuthController(context.auth, context.recovery, context.cookies, context.keys);
  app.use(healthRoutes(context.health));
  app.use(jwksRoutes(auth));
  app.use('/api/auth', authRoutes(auth, context.limits.auth));
  app.use('/api/sessions', sessionsRoutes(createSessionsController(context.sessions)));
  app.use('/api/dashboard', dashboardRoutes(context.dashboard));
  app.use('/api/users', usersRoutes(context.users, context.accountData, context.securityEvents));
  app.use('/api/admin', adminRoutes(context.admin, context.securityEvents));
  app.use('/api', monitoringRoutes(context.errorHandler.stats));
  app.use('/api', docsRoutes());
}
