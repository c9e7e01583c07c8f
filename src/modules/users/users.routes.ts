import { Router } from 'express';
import { requireAuth } from '../../middleware/authorize.js';
import { validate, validated } from '../../middleware/validate.js';
import { ownEventsSchema } from '../security-events/security-events.schemas.js';
import type { SecurityEventsService } from '../security-events/security-events.service.js';

/** `/api/users`: the caller's own account. */
export function usersRoutes(securityEvents: SecurityEventsService): Router {
  const router = Router();
  router.get('/me/security-events', requireAuth, validate(ownEventsSchema), async function ownSecurityEvents(req, res) {
    res.json({ items: await securityEvents.forUser(req.auth!.userId, validated(res, ownEventsSchema).query.limit) });
  });
  return router;
}
