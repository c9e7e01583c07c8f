import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { runWithRequestId } from '../infra/request-context.js';

const ACCEPTED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Accepts a well-formed incoming X-Request-Id, otherwise makes one; echoes it back. The
 * rest of the pipeline runs with the id in scope (AsyncLocalStorage), so the logger adds
 * it to every line written while this request is handled.
 */
export function requestId(): RequestHandler {
  return function assignRequestId(req, res, next) {
    const incoming = req.headers['x-request-id'];
    req.id = typeof incoming === 'string' && ACCEPTED_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    runWithRequestId(req.id, next);
  };
}
