import type { RequestHandler } from 'express';
import type { Config } from '../config/env.js';
import type { Logger } from './logger.js';

export interface ProxyTrustReport {
  status: 'ok' | 'misconfigured';
  trustProxy: number;
  warnings: string[];
}

/**
 * Rate limits silently break in production when the hop count is wrong: with too few
 * trusted hops every client shares the proxy's address; with too many, clients choose
 * their own key. This check says so at start and in /health/ready.
 */
export class ProxyTrustCheck {
  private readonly startWarnings: string[] = [];
  private maxHopsSeen = 0;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    if (config.onRender && config.trustProxy === 0) {
      this.startWarnings.push('running on Render with TRUST_PROXY=0: every client shares the proxy address; set TRUST_PROXY=1');
    }
    for (const warning of this.startWarnings) logger.warn(`proxy trust: ${warning}`);
  }

  private hopWarning(): string | undefined {
    if (this.maxHopsSeen <= this.config.trustProxy) return undefined;
    return `requests arrive with up to ${this.maxHopsSeen} forwarding hops but TRUST_PROXY=${this.config.trustProxy}`;
  }

  /** Watches X-Forwarded-For for more hops than configured (reported once per new maximum). */
  middleware(): RequestHandler {
    return (req, _res, next) => {
      const forwarded = req.headers['x-forwarded-for'];
      if (forwarded !== undefined) {
        const hops = String(forwarded).split(',').length;
        if (hops > this.config.trustProxy && hops > this.maxHopsSeen) {
          this.maxHopsSeen = hops;
          this.logger.warn(`proxy trust: ${this.hopWarning()}`);
        }
      }
      next();
    };
  }

  report(): ProxyTrustReport {
    const hopWarning = this.hopWarning();
    const warnings = hopWarning ? [...this.startWarnings, hopWarning] : this.startWarnings;
    return { status: warnings.length === 0 ? 'ok' : 'misconfigured', trustProxy: this.config.trustProxy, warnings };
  }
}
