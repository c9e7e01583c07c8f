import 'express';
import type { AccessClaims } from '../http/route.js';

declare global {
  namespace Express {
    interface Request {
      /** Set first in the pipeline by the request-id middleware. */
      id: string;
      /** The verified caller, when a valid bearer access token was presented. */
      auth?: AccessClaims;
      /** True when the bearer credential was the MONITORING_TOKEN. */
      monitoring?: boolean;
    }
  }
}
