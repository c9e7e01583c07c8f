import { BlockList, isIPv4 } from 'node:net';
import type { RequestHandler } from 'express';
import type { Config } from '../config/env.js';
import type { Logger } from '../infra/logger.js';

export interface ProxyTrustReport {
  status: 'ok' | 'misconfigured';
  trustProxy: number;
  warnings: string[];
  /** The window the verdict is drawn from: how many requests, how many looked mis-proxied. */
  forwarding?: { windowS: number; requests: number; overTrusted: number; sampleHops?: number };
}

const WINDOW_MS = 60_000;
/** Below this many requests in a window there is no verdict: a few requests prove nothing. */
const MIN_REQUESTS = 20;

/** Addresses a proxy or load balancer connects from: private, loopback, link-local, CGNAT. */
const PROXY_ADDRESSES = new BlockList();
for (const [network, prefix] of [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['127.0.0.0', 8], ['169.254.0.0', 16], ['100.64.0.0', 10]] as const) {
  PROXY_ADDRESSES.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) PROXY_ADDRESSES.addSubnet(network, prefix, 'ipv6');

export function isProxyAddress(ip: string | undefined): boolean {
  if (!ip) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  if (mapped) return PROXY_ADDRESSES.check(mapped, 'ipv4');
  return isIPv4(ip) ? PROXY_ADDRESSES.check(ip, 'ipv4') : PROXY_ADDRESSES.check(ip, 'ipv6');
}

interface Window {
  startedAt: number;
  requests: number;
  overTrusted: number;
  sampleHops?: number;
}

/**
 * Rate limits silently break in production when the hop count is wrong: with too few
 * trusted hops every client shares the proxy's address. That shows as requests that carry
 * more forwarding hops than trusted *and* whose resolved client address (`req.ip`, the
 * rate-limit key) is a proxy's private address. A client can add hops to its own
 * X-Forwarded-For but cannot choose the address a trusted proxy saw it from, so forged
 * headers never count; and the verdict needs most requests of a window, so a handful of
 * odd requests changes nothing. Render with TRUST_PROXY=0 is also said at start.
 */
export class ProxyTrustCheck {
  private readonly startWarnings: string[] = [];
  private current: Window = { startedAt: Date.now(), requests: 0, overTrusted: 0 };
  private previous?: Window;
  private misconfigured = false;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    if (config.onRender && config.trustProxy === 0) {
      this.startWarnings.push('running on Render with TRUST_PROXY=0: every client shares the proxy address; set TRUST_PROXY=1');
    }
    for (const warning of this.startWarnings) logger.warn(`proxy trust: ${warning}`);
  }

  middleware(): RequestHandler {
    const trusted = this.config.trustProxy;
    return (req, _res, next) => {
      const window = this.windowAt(Date.now());
      window.requests += 1;
      const forwarded = req.headers['x-forwarded-for'];
      if (forwarded !== undefined) {
        const hops = String(forwarded).split(',').length;
        if (hops > trusted && isProxyAddress(req.ip)) {
          window.overTrusted += 1;
          window.sampleHops ??= hops;
        }
      }
      if (window.requests === MIN_REQUESTS || window.requests % 100 === 0) this.judge();
      next();
    };
  }

  report(): ProxyTrustReport {
    const window = this.judge();
    const warnings = this.misconfigured ? [...this.startWarnings, this.hopWarning(window)] : this.startWarnings;
    return {
      status: warnings.length === 0 ? 'ok' : 'misconfigured',
      trustProxy: this.config.trustProxy,
      warnings,
      forwarding: { windowS: WINDOW_MS / 1000, requests: window.requests, overTrusted: window.overTrusted, sampleHops: window.sampleHops },
    };
  }

  private windowAt(now: number): Window {
    if (now - this.current.startedAt >= WINDOW_MS) {
      // A window with no traffic after it leaves nothing to judge: start over.
      this.previous = now - this.current.startedAt < 2 * WINDOW_MS ? this.current : undefined;
      this.current = { startedAt: now, requests: 0, overTrusted: 0 };
    }
    return this.current;
  }

  /** The verdict from the current window once it has enough requests, else the last one. */
  private judge(): Window {
    const current = this.windowAt(Date.now());
    const window = current.requests >= MIN_REQUESTS || !this.previous ? current : this.previous;
    if (window.requests < MIN_REQUESTS) return window;
    const misconfigured = window.overTrusted * 2 > window.requests;
    if (misconfigured !== this.misconfigured) {
      this.misconfigured = misconfigured;
      if (misconfigured) this.logger.warn(`proxy trust: ${this.hopWarning(window)}`);
      else this.logger.warn('proxy trust: forwarding matches TRUST_PROXY again');
    }
    return window;
  }

  private hopWarning(window: Window): string {
    return (
      `${window.overTrusted} of ${window.requests} requests in the last minute came from a proxy address with ` +
      `${window.sampleHops ?? 'more'} forwarding hops but TRUST_PROXY=${this.config.trustProxy}: clients share the proxy's rate limits; ` +
      'set TRUST_PROXY to the number of proxies in front of the service'
    );
  }
}
