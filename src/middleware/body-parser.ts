import bytes from 'bytes';
import express, { type RequestHandler } from 'express';

const JSON_TYPES = ['application/json', 'application/*+json'];

/** JSON only, up to `limit` (413 beyond, 400 when malformed). */
export function jsonBody(limit: string | number): RequestHandler {
  return express.json({ limit, strict: true, type: JSON_TYPES });
}

/**
 * One JSON parser step for the whole API, with the limit the matching route declares
 * (never above BODY_LIMIT), so a body is refused before any token is verified.
 */
export function jsonBodies(bodyLimit: string, declaredLimit: (method: string, path: string) => string | undefined): RequestHandler {
  const ceiling = bytes.parse(bodyLimit) ?? 1_048_576;
  const parsers = new Map<number, RequestHandler>();
  const parserFor = (limit: string | undefined) => {
    const size = Math.min(limit === undefined ? ceiling : (bytes.parse(limit) ?? ceiling), ceiling);
    let parser = parsers.get(size);
    if (!parser) parsers.set(size, (parser = jsonBody(size)));
    return parser;
  };
  return function parseJsonBody(req, res, next) {
    if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) {
      next(); // no body (most GETs): nothing to parse
      return;
    }
    parserFor(declaredLimit(req.method, req.path))(req, res, next);
  };
}
