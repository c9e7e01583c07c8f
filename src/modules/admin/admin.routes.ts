import { Router } from 'express';
import { requestMeta } from '../../lib/request-meta.js';
import { requireRole } from '../../middleware/authorize.js';
import { validate, validated } from '../../middleware/validate.js';
import { adminEventsSchema } from '../security-events/security-events.schemas.js';
import type { SecurityEventsService } from '../security-events/security-events.service.js';
import { listUsersSchema, updateUserSchema } from './admin.schemas.js';
import type { AdminService } from './admin.service.js';

/** `/api/admin`: admins only, every route. */
export function adminRoutes(admin: AdminService, securityEvents: SecurityEventsService): Router {
  const router = Router();
  router.use(requireRole('admin'));
  router.get('/users', validate(listUsersSchema), async function listUsers(_req, res) {
    res.json(await admin.listUsers(validated(res, listUsersSchema).query));
  });
  router.patch('/users/:id', validate(updateUserSchema), async function updateUser(req, res) {
    const { params, body } = validated(res, updateUserSchema);
    res.json(await admin.updateUser(req.auth!.userId, params.id, body, requestMeta(req)));
  });
  router.get('/security-events', validate(adminEventsSchema), async function searchSecurityEvents(_req, res) {
    res.json({ items: await securityEvents.search(validated(res, adminEventsSchema).query) });
  });
  router.get('/security-events/suspicious', async function suspiciousAddresses(_req, res) {
    res.json({ items: await securityEvents.suspicious() });
  });
  return router;
}
