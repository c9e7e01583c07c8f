import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type Store } from 'express-rate-limit';
import type { Config } from '../config/env.js';
import { AppError } from '../errors/app-error.js';

export type RateLimitTier = 'global' | 'write' | 'auth';

/** Where counters live: in memory by default; a shared store makes N instances enforce one limit. */
export type RateLimitStoreFactory = (tier: RateLimitTier) => Store | undefined;

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Load-balancer probes and the Prometheus scraper must never see a 429 (they have their own token or none). */
function isProbe(req: Request): boolean {
  return req.path === '/health' || req.path.startsWith('/health/') || req.path === '/metrics';
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

interface TierOptions {
  createStore: RateLimitStoreFactory;
  onRefused: (tier: RateLimitTier) => void;
}

/** A request the tier does not count never enters the limiter (whose handler is asynchronous). */
function tierLimiter(tier: RateLimitTier, limits: { max: number; windowS: number }, options: TierOptions, skip?: (req: Request) => boolean): RequestHandler {
  const limiter = rateLimit({
    windowMs: limits.windowS * 1000,
    limit: limits.max,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: tier,
    keyGenerator: clientKey,
    store: options.createStore(tier),
    // The proxy-trust self-check reports forwarding problems; the library's own console warnings are redundant.
    validate: { xForwardedForHeader: false, trustProxy: false, singleCount: false },
    handler(_req, res, next) {
      options.onRefused(tier);
      next(AppError.rateLimited(Number(res.getHeader('Retry-After')) || limits.windowS));
    },
  });
  if (!skip) return limiter;
  return function countedRequest(req, res, next) {
    if (skip(req)) {
      next();
      return;
    }
    return limiter(req, res, next);
  };
}

/** The three tiers; `onRefused` hears of every 429 (the metrics count them by tier). */
export function rateLimits(config: Config, options: Partial<TierOptions> = {}) {
  const tierOptions: TierOptions = { createStore: options.createStore ?? (() => undefined), onRefused: options.onRefused ?? (() => undefined) };
  return {
    global: tierLimiter('global', config.rateLimits.global, tierOptions, isProbe),
    write: tierLimiter('write', config.rateLimits.write, tierOptions, (req) => !WRITE_METHODS.has(req.method) || isProbe(req)),
    /** Mounted per route on register, login, refresh and the mail flows. */
    auth: tierLimiter('auth', config.rateLimits.auth, tierOptions),
  };
}
