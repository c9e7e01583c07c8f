import type { RequestHandler } from 'express';
import cors from 'cors';
import type { Config } from '../config/env.js';

/**
 * An exact origin, or a preview pattern where `*` stands for one DNS label part
 * (`https://confidant-pr-*.onrender.com`), anchored at both ends.
 */
function toMatcher(entry: string): (origin: string) => boolean {
  if (!entry.includes('*')) return (origin) => origin === entry;
  const escaped = entry.replace(/[.+?^${}()|[\]\\/]/g, '\\$&').replace(/\*/g, '[a-z0-9-]+');
  const pattern = new RegExp(`^${escaped}$`, 'i');
  return (origin) => pattern.test(origin);
}

export function isAllowedOrigin(config: Pick<Config, 'corsOrigins'>): (origin: string) => boolean {
  const matchers = config.corsOrigins.map(toMatcher);
  return (origin) => matchers.some((matches) => matches(origin));
}

/**
 * Allowed origins get credentials; any other origin simply gets no CORS headers
 * (the browser blocks it) and the request is never turned into an error.
 */
export function corsAllowlist(config: Config): RequestHandler {
  const allowed = isAllowedOrigin(config);
  const withOrigin = cors({
    origin: (origin, callback) => callback(null, origin !== undefined && allowed(origin)),
    credentials: true,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Content-Type', 'Authorization', 'X-CSRF-Token', 'X-Request-Id', 'Idempotency-Key'],
    exposedHeaders: ['X-Request-Id', 'RateLimit', 'RateLimit-Policy', 'Retry-After'],
    maxAge: 600,
  });
  // Requests without an Origin (servers, probes, native apps) need no CORS work, only the Vary.
  return function corsForBrowsers(req, res, next) {
    if (req.headers.origin === undefined) {
      res.setHeader('Vary', 'Origin');
      next();
      return;
    }
    withOrigin(req, res, next);
  };
}
