import { Router } from 'express';
import { requireAuth } from '../../middleware/authorize.js';
import { validate, validated } from '../../middleware/validate.js';
import { ownEventsSchema } from '../security-events/security-events.schemas.js';
import type { SecurityEventsService } from '../security-events/security-events.service.js';
import { requestMeta } from '../../lib/request-meta.js';
import type { AccountDataService } from './account-data.service.js';
import { deleteAccountSchema, preferencesSchema, updateProfileSchema } from './users.schemas.js';
import type { UsersService } from './users.service.js';

/** `/api/users`: the caller's own account, and nobody else's. */
export function usersRoutes(users: UsersService, accountData: AccountDataService, securityEvents: SecurityEventsService): Router {
  const router = Router();
  router.use(requireAuth);
  router.get('/me', async function profile(req, res) {
    res.json(await users.profile(req.auth!.userId));
  });
  router.patch('/me', validate(updateProfileSchema), async function updateProfile(req, res) {
    res.json(await users.updateProfile(req.auth!.userId, validated(res, updateProfileSchema).body));
  });
  router.get('/me/preferences', async function preferences(req, res) {
    res.json(await users.preferences(req.auth!.userId));
  });
  router.put('/me/preferences', validate(preferencesSchema), async function replacePreferences(req, res) {
    res.json(await users.replacePreferences(req.auth!.userId, validated(res, preferencesSchema).body));
  });
  router.get('/me/security-events', validate(ownEventsSchema), async function ownSecurityEvents(req, res) {
    res.json({ items: await securityEvents.forUser(req.auth!.userId, validated(res, ownEventsSchema).query.limit) });
  });
  router.get('/me/export', async function exportAccount(req, res) {
    res.set('Content-Disposition', 'attachment; filename="confidant-export.json"');
    res.json(await accountData.exportAll(req.auth!.userId, requestMeta(req)));
  });
  router.delete('/me', validate(deleteAccountSchema), async function deleteAccount(req, res) {
    await accountData.deleteAccount(req.auth!.userId, validated(res, deleteAccountSchema).body.password, requestMeta(req));
    res.status(204).end();
  });
  return router;
}
