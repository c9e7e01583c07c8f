import { z } from 'zod';
import type { ErrorStats } from '../../errors/error-stats.js';
import { route } from '../../http/route.js';

const counts = z.record(z.string(), z.number().int());
const statsResponse = z.strictObject({
  since: z.iso.datetime(),
  total: z.number().int(),
  byClass: counts,
  byCode: counts,
  byRoute: counts,
  byStatus: counts,
  recent: z.array(
    z.strictObject({
      at: z.iso.datetime(),
      requestId: z.string().optional(),
      status: z.number().int(),
      code: z.string(),
      errorClass: z.string(),
      method: z.string().optional(),
      route: z.string(),
    }),
  ),
});

/** `/api/errors/stats`: the error handler's counters, for admins or the MONITORING_TOKEN. */
export function createMonitoringModule(stats: ErrorStats) {
  return {
    routes: [
      route(
        { method: 'GET', path: '/errors/stats', access: 'monitoring', summary: 'Error counters and the last 100 errors', response: { status: 200, description: 'Counters and recent errors', schema: statsResponse } },
        () => stats.snapshot(),
      ),
    ],
  };
}
