import * as oidc from 'openid-client';
import type { Config, OidcProviderConfig } from '../../config/env.js';
import { describeError, type Logger } from '../../infra/logger.js';

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 5 * 60_000;

export interface DiscoveredProvider {
  settings: OidcProviderConfig;
  client: oidc.Configuration;
}

/**
 * The configured OpenID providers, each discovered (its metadata and JWKS location read from
 * the issuer) in the background: a slow or absent provider never holds up the start, it is
 * tried again with a growing pause, and until it answers its sign-ins get 503.
 */
export class OidcProviders {
  private readonly discovered = new Map<string, DiscoveredProvider>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly attempts = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly config: Pick<Config, 'oidc' | 'isProduction'>,
    private readonly logger: Logger,
  ) {}

  /** Starts discovering every provider; resolves once each has been tried once (tests wait for it). */
  start(): Promise<void> {
    return Promise.all(this.config.oidc.providers.map((settings) => this.discover(settings, FIRST_RETRY_MS))).then(() => undefined);
  }

  private discover(settings: OidcProviderConfig, nextDelayMs: number): Promise<void> {
    const attempt = this.tryOnce(settings).then((ok) => {
      this.attempts.delete(settings.id);
      if (!ok && !this.stopped) this.retryLater(settings, nextDelayMs);
    });
    this.attempts.set(settings.id, attempt);
    return attempt;
  }

  private async tryOnce(settings: OidcProviderConfig): Promise<boolean> {
    try {
      // Plain-HTTP issuers (a provider on the laptop, the tests' own) only outside production; the config refuses them there.
      const execute = [oidc.enableNonRepudiationChecks, ...(this.config.isProduction ? [] : [oidc.allowInsecureRequests])];
      const client = await oidc.discovery(new URL(settings.issuer), settings.clientId, { id_token_signed_response_alg: 'RS256' }, oidc.ClientSecretBasic(settings.clientSecret), {
        timeout: this.config.oidc.discoveryTimeoutS,
        execute,
      });
      this.discovered.set(settings.id, { settings, client });
      this.logger.info('OpenID provider discovered', { provider: settings.id });
      return true;
    } catch (error) {
      this.logger.warn('OpenID provider discovery failed; retrying later', { provider: settings.id, ...describeError(error), stack: undefined });
      return false;
    }
  }

  private retryLater(settings: OidcProviderConfig, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.discover(settings, Math.min(delayMs * 2, MAX_RETRY_MS));
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  settingsOf(id: string): OidcProviderConfig | undefined {
    return this.config.oidc.providers.find((provider) => provider.id === id);
  }

  /** The provider, once discovered; undefined while it has not answered. */
  get(id: string): DiscoveredProvider | undefined {
    return this.discovered.get(id);
  }

  /** For the SPA's sign-in buttons: id, display name, and whether the provider has answered. */
  list() {
    return this.config.oidc.providers.map((provider) => ({ id: provider.id, name: provider.name, available: this.discovered.has(provider.id) }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.all([...this.attempts.values()]);
  }
}
