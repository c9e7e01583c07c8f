import 'express';
import type { AccessClaims } from '../http/route.js';

declare global {
  namespace Express {
    interface Request {
      /** Set first in the pipeline by the request-id middleware. */
      id: string;
      /** The verified caller, when a valid bearer access token was presented. */
      auth?: AccessClaims;
      /** Set when the bearer credential was the MONITORING_TOKEN or the METRICS_TOKEN. */
      serviceToken?: 'monitoring' | 'metrics';
      /** The full declared path of the route that matched (`/api/sessions/:id`), for metrics. */
      routeTemplate?: string;
    }
  }
}
