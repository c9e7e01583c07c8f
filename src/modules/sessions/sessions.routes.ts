import { Router } from 'express';
import { requireAuth } from '../../middleware/authorize.js';
import { validate } from '../../middleware/validate.js';
import type { createSessionsController } from './sessions.controller.js';
import { addEntrySchema, feedbackSchema, listEntriesSchema, listSessionsSchema, sessionIdSchema, startSessionSchema } from './sessions.schemas.js';

/** `/api/sessions`: every route needs a caller; who may touch which session is the service's policy. */
export function sessionsRoutes(controller: ReturnType<typeof createSessionsController>): Router {
  const router = Router();
  router.post('/', requireAuth, validate(startSessionSchema), controller.start);
  router.get('/', requireAuth, validate(listSessionsSchema), controller.list);
  router.get('/:id', requireAuth, validate(sessionIdSchema), controller.get);
  router.delete('/:id', requireAuth, validate(sessionIdSchema), controller.remove);
  router.post('/:id/pause', requireAuth, validate(sessionIdSchema), controller.pause);
  router.post('/:id/resume', requireAuth, validate(sessionIdSchema), controller.resume);
  router.post('/:id/end', requireAuth, validate(sessionIdSchema), controller.end);
  router.post('/:id/entries', requireAuth, validate(addEntrySchema), controller.addEntry);
  router.get('/:id/entries', requireAuth, validate(listEntriesSchema), controller.listEntries);
  router.post('/:id/feedback', requireAuth, validate(feedbackSchema), controller.feedback);
  router.get('/:id/report', requireAuth, validate(sessionIdSchema), controller.report);
  return router;
}
