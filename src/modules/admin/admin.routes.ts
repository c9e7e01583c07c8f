import { Router } from 'express';
import { requireRole } from '../../middleware/authorize.js';
import { validate, validated } from '../../middleware/validate.js';
import { adminEventsSchema } from '../security-events/security-events.schemas.js';
import type { SecurityEventsService } from '../security-events/security-events.service.js';

/** `/api/admin`: admins only, every route. */
export function adminRoutes(securityEvents: SecurityEventsService): Router {
  const router = Router();
  router.use(requireRole('admin'));
  router.get('/security-events', validate(adminEventsSchema), async function searchSecurityEvents(_req, res) {
    res.json({ items: await securityEvents.search(validated(res, adminEventsSchema).query) });
  });
  router.get('/security-events/suspicious', async function suspiciousAddresses(_req, res) {
    res.json({ items: await securityEvents.suspicious() });
  });
  return router;
}
