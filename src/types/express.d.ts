import 'express';

declare global {
  namespace Express {
    interface Request {
      /** Set first in the pipeline by the request-id middleware. */
      id: string;
    }
  }
}
