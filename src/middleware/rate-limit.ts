import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type Store } from 'express-rate-limit';
import type { Config } from '../config/env.js';
import { AppError } from '../errors/app-error.js';

export type RateLimitTier = 'global' | 'write' | 'auth';

/** Where counters live: in memory by default; a shared store makes N instances enforce one limit. */
export type RateLimitStoreFactory = (tier: RateLimitTier) => Store | undefined;

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Load-balancer probes must never see a 429. */
function isHealthProbe(req: Request): boolean {
  return req.path === '/health' || req.path.startsWith('/health/');
}

/**
 * The client is the address seen through exactly TRUST_PROXY hops (Express's `req.ip`
 * with `trust proxy` set to that count), IPv6 grouped by /56. A request whose address
 * cannot be resolved gets a key of its own rather than a bucket shared by everyone.
 */
export function clientKey(req: Request): string {
  const ip = req.ip ?? req.socket.remoteAddress;
  return ip ? ipKeyGenerator(ip, 56) : `unresolved:${req.id}`;
}

function tierLimiter(tier: RateLimitTier, limits: { max: number; windowS: number }, createStore: RateLimitStoreFactory, skip: (req: Request) => boolean): RequestHandler {
  return rateLimit({
    windowMs: limits.windowS * 1000,
    limit: limits.max,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: tier,
    keyGenerator: clientKey,
    skip,
    store: createStore(tier),
    // The proxy-trust self-check reports forwarding problems; the library's own console warnings are redundant.
    validate: { xForwardedForHeader: false, trustProxy: false, singleCount: false },
    handler(_req, res, next) {
      next(AppError.rateLimited(Number(res.getHeader('Retry-After')) || limits.windowS));
    },
  });
}

export function rateLimits(config: Config, createStore: RateLimitStoreFactory = () => undefined) {
  return {
    global: tierLimiter('global', config.rateLimits.global, createStore, isHealthProbe),
    write: tierLimiter('write', config.rateLimits.write, createStore, (req) => !WRITE_METHODS.has(req.method) || isHealthProbe(req)),
    /** Mounted per route on register, login, refresh and the mail flows. */
    auth: tierLimiter('auth', config.rateLimits.auth, createStore, () => false),
  };
}
