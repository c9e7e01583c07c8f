import bytes from 'bytes';
import express, { type RequestHandler } from 'express';

const JSON_TYPES = ['application/json', 'application/*+json'];

/** JSON only, up to `limit` (413 beyond, 400 when malformed). */
export function jsonBody(limit: string): RequestHandler {
  return express.json({ limit, strict: true, type: JSON_TYPES });
}

/**
 * One JSON parser for the whole API with smaller limits where routes expect little:
 * the first matching path prefix decides, never above BODY_LIMIT.
 */
export function jsonBodies(bodyLimit: string, smallerByPrefix: Record<string, string>): RequestHandler {
  const ceiling = bytes.parse(bodyLimit) ?? 1_048_576;
  const fallback = jsonBody(bodyLimit);
  const parsers = Object.entries(smallerByPrefix).map(([prefix, limit]) => ({
    prefix,
    parse: jsonBody(bytes.format(Math.min(bytes.parse(limit) ?? ceiling, ceiling)) ?? bodyLimit),
  }));
  return function parseJsonBody(req, res, next) {
    if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) {
      next(); // no body (most GETs): nothing to parse
      return;
    }
    const match = parsers.find(({ prefix }) => req.path === prefix || req.path.startsWith(`${prefix}/`));
    (match?.parse ?? fallback)(req, res, next);
  };
}
