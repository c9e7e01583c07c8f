import type { RequestHandler } from 'express';
import helmet from 'helmet';
import type { Config } from '../config/env.js';

const PERMISSIONS_POLICY = 'geolocation=(), microphone=(), camera=()';

/**
 * helmet configured for a JSON API: nothing may be loaded or framed, no referrer leaks,
 * HSTS in production only (a laptop on plain HTTP must not pin localhost to HTTPS).
 */
export function securityHeaders(config: Config): RequestHandler[] {
  const headers = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
    strictTransportSecurity: config.isProduction
      ? { maxAge: 31_536_000, includeSubDomains: true, preload: true }
      : false,
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    xXssProtection: true,
    xPoweredBy: true,
  });
  const apiDefaults: RequestHandler = function apiHeaderDefaults(_req, res, next) {
    res.setHeader('Permissions-Policy', PERMISSIONS_POLICY);
    // Everything this API returns is personal or operational; routes that may be cached say so.
    res.setHeader('Cache-Control', 'no-store');
    next();
  };
  return [headers, apiDefaults];
}

/**
 * In production behind a trusted proxy, plain HTTP is redirected (308 keeps the method
 * and body) to the configured public origin — never to the request's Host header.
 * Health probes speak plain HTTP and are never redirected.
 */
export function httpsRedirect(config: Config): RequestHandler {
  const enabled = config.isProduction && config.trustProxy > 0;
  const publicHost = new URL(config.publicUrl).host;
  return function redirectToHttps(req, res, next) {
    if (!enabled || req.secure || req.path === '/health' || req.path.startsWith('/health/')) {
      next();
      return;
    }
    res.redirect(308, `https://${publicHost}${req.originalUrl}`);
  };
}
