import type { Infra } from '../../context.js';
import { Background } from '../../infra/background.js';
import { isAllowedOrigin } from '../../middleware/cors.js';
import { MemoryFailureStore, SharedFailureStore, type AuthModule } from '../auth/index.js';
import type { MfaModule } from '../mfa/index.js';
import type { SecurityEventsModule } from '../security-events/index.js';
import type { UsersModule } from '../users/index.js';
import { Identities } from './identities.js';
import { createIdentityService } from './identities.service.js';
import { oidcCookie } from './oidc-cookie.js';
import { OidcFlows } from './oidc-flows.js';
import { OidcProviders } from './oidc-providers.js';
import { oidcRoutes } from './oidc.routes.js';
import { createOidc } from './oidc.service.js';
import { createMagicLinks } from './magic-link.service.js';
import { MagicLinks } from './magic-links.js';
import { createPasswordSetter } from './password.service.js';
import { passwordlessMail } from './passwordless-mail.js';
import { passwordlessRoutes } from './passwordless.routes.js';
import { RequestBudget } from './request-budget.js';

export { identitiesResponse } from './passwordless.schemas.js';

const WINDOW_MS = 15 * 60_000;

/**
 * Signing in without a password (`magic_links`, `oidc_identities`, `oidc_flows`): magic links,
 * OpenID Connect providers and the identities they link. A proven first factor is handed to the
 * auth module, which applies the second step and opens the session as after a password.
 */
export function createPasswordlessModule(
  infra: Pick<Infra, 'config' | 'sequelize' | 'models' | 'shared' | 'mailer' | 'logger' | 'passwords'>,
  deps: {
    users: Pick<UsersModule, 'accounts'>;
    auth: Pick<AuthModule, 'signInProven' | 'deliver' | 'renewAuthentication'>;
    mfa: Pick<MfaModule, 'methodsOf'>;
    securityEvents: Pick<SecurityEventsModule, 'recorder'>;
  },
) {
  const { config, sequelize, models, shared, mailer } = infra;
  const events = deps.securityEvents.recorder;
  const store = shared ? new SharedFailureStore(shared) : new MemoryFailureStore();
  const mail = passwordlessMail(config.appUrl);
  const background = new Background(infra.logger, 'magic link');
  const links = new MagicLinks(sequelize, models);
  const identities = new Identities(models);
  const magicLinks = createMagicLinks({
    config,
    links,
    identities,
    accounts: deps.users.accounts,
    auth: deps.auth,
    perAddress: new RequestBudget(store, 'magic-link-address', config.magicLinks.perAddressMax, WINDOW_MS),
    perClient: new RequestBudget(store, 'magic-link-client', config.magicLinks.perClientMax, WINDOW_MS),
    events,
    mailer,
    mail,
    background,
  });
  const password = createPasswordSetter({ accounts: deps.users.accounts, passwords: infra.passwords, events, mailer, mail });
  const providers = new OidcProviders(config, infra.logger);
  const discovery = providers.start(); // in the background: the start never waits for a provider
  const appOrigin = new URL(config.appUrl).origin;
  const corsAllowed = isAllowedOrigin(config);
  const flows = new OidcFlows(models);
  const oidc = createOidc({
    config,
    providers,
    flows,
    identities,
    accounts: deps.users.accounts,
    magicLinks,
    auth: deps.auth,
    allowedOrigin: (origin) => origin === appOrigin || corsAllowed(origin),
    events,
  });
  const identityService = createIdentityService({ identities, accounts: deps.users.accounts, mfa: deps.mfa, events });

  return {
    routes: [...passwordlessRoutes(magicLinks, password, deps.auth), ...oidcRoutes(oidc, identityService, oidcCookie(config), deps.auth)],
    /** Resolves once every configured provider has been tried once (tests; the service never waits). */
    discovery: () => discovery,
    /** For the GDPR export: the provider identities of a person. */
    identitiesOf: (userId: string) => identities.listFor(userId),
    /** For the mfa module: whether a passkey is the last way an account signs in. */
    identityCount: (userId: string) => identities.count(userId),
    /** Mail flows answer first and work after the reply: shutdown and tests wait for them. */
    idle: () => background.idle(),
    /** Ends the rediscovery of providers that have not answered (shutdown). */
    stop: () => providers.stop(),
    retentionJobs: { 'purge-magic-links': links.retentionJob, 'purge-oidc-flows': flows.retentionJob },
  };
}

export type PasswordlessModule = ReturnType<typeof createPasswordlessModule>;
