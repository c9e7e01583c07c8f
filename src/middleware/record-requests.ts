import type { Request, RequestHandler, Response } from 'express';

/** Something written down about every request once it is over: a log line, a metric. */
export type RequestRecorder = (req: Request, res: Response, seconds: number) => void;

/**
 * One clock reading and one listener per request for everything recorded when it ends.
 * `close` follows `finish` for every answer and also comes when the client went away first,
 * so each recorder sees every request exactly once (`res.writableFinished` tells which).
 */
export function recordRequests(...recorders: RequestRecorder[]): RequestHandler {
  return function recordRequest(req, res, next) {
    const started = process.hrtime.bigint();
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      for (const record of recorders) record(req, res, seconds);
    });
    next();
  };
}
