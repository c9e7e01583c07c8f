import { Router } from 'express';
import { z } from 'zod';
import { requireAuth } from '../../middleware/authorize.js';
import { validate, validated } from '../../middleware/validate.js';
import type { DashboardService } from './dashboard.service.js';

export const summarySchema = {
  query: z.strictObject({ days: z.coerce.number().int().min(1).max(90).default(7) }),
};

/** `/api/dashboard`: the caller's own numbers, cacheable by their browser only. */
export function dashboardRoutes(dashboard: DashboardService): Router {
  const router = Router();
  router.get('/summary', requireAuth, validate(summarySchema), async function summary(req, res) {
    const { days } = validated(res, summarySchema).query;
    res.set('Cache-Control', 'private, max-age=60').json(await dashboard.summary({ userId: req.auth!.userId, role: req.auth!.role }, days));
  });
  return router;
}
