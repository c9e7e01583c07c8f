import type { Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import type { Config } from '../config/env.js';

const PERMISSIONS_POLICY = 'geolocation=(), microphone=(), camera=()';

/** The headers a middleware sets and removes, recorded once against a stand-in response. */
function recordHeaders(middleware: RequestHandler): { set: [string, string][]; remove: string[] } {
  const set: [string, string][] = [];
  const remove: string[] = [];
  const res = {
    setHeader: (name: string, value: unknown) => set.push([name, String(value)]),
    removeHeader: (name: string) => remove.push(name),
  };
  middleware({} as Request, res as unknown as Response, () => undefined);
  return { set, remove };
}

/**
 * helmet configured for a JSON API: nothing may be loaded or framed, no referrer leaks,
 * HSTS in production only (a laptop on plain HTTP must not pin localhost to HTTPS). Every
 * value is fixed by configuration, so helmet's output is recorded once at start and
 * applied in one step per request (a dozen middleware calls saved on every request).
 */
export function securityHeaders(config: Config): RequestHandler {
  const helmetHeaders = recordHeaders(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      },
      strictTransportSecurity: config.isProduction ? { maxAge: 31_536_000, includeSubDomains: true, preload: true } : false,
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
      xXssProtection: true,
      xPoweredBy: false, // the app never sets it (createApp disables Express's)
    }),
  );
  const headers: [string, string][] = [
    ...helmetHeaders.set,
    ['Permissions-Policy', PERMISSIONS_POLICY],
    // Everything this API returns is personal or operational; routes that may be cached say so.
    ['Cache-Control', 'no-store'],
  ];
  return function securityHeaders(_req, res, next) {
    for (const name of helmetHeaders.remove) res.removeHeader(name);
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}

/**
 * In production behind a trusted proxy, plain HTTP is redirected (308 keeps the method
 * and body) to the configured public origin — never to the request's Host header.
 * Health probes speak plain HTTP and are never redirected. Nothing to do (undefined) elsewhere.
 */
export function httpsRedirect(config: Config): RequestHandler | undefined {
  if (!config.isProduction || config.trustProxy === 0) return undefined;
  const publicHost = new URL(config.publicUrl).host;
  return function redirectToHttps(req, res, next) {
    if (req.secure || req.path === '/health' || req.path.startsWith('/health/')) {
      next();
      return;
    }
    res.redirect(308, `https://${publicHost}${req.originalUrl}`);
  };
}
