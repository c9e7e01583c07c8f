import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

const ACCEPTED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Accepts a well-formed incoming X-Request-Id, otherwise makes one; echoes it back. */
export function requestId(): RequestHandler {
  return function assignRequestId(req, res, next) {
    const incoming = req.get('X-Request-Id');
    req.id = incoming !== undefined && ACCEPTED_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    next();
  };
}
