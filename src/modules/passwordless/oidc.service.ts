import * as oidc from 'openid-client';
import { UniqueConstraintError } from 'sequelize';
import type { Config } from '../../config/env.js';
import { AppError } from '../../errors/app-error.js';
import type { Actor } from '../../http/route.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { OidcFlowModel } from '../../models/oidc-flow.model.js';
import type { AuthModule } from '../auth/index.js';
import type { SecurityEventRecorder } from '../security-events/index.js';
import type { UserAccounts } from '../users/index.js';
import type { Identities } from './identities.js';
import type { MagicLinkService } from './magic-link.service.js';
import type { FlowOutcome, OidcFlows } from './oidc-flows.js';
import type { DiscoveredProvider, OidcProviders } from './oidc-providers.js';

export interface OidcDeps {
  config: Pick<Config, 'appUrl' | 'publicUrl'>;
  providers: OidcProviders;
  flows: OidcFlows;
  identities: Identities;
  accounts: UserAccounts;
  magicLinks: Pick<MagicLinkService, 'sendLinkProof'>;
  auth: Pick<AuthModule, 'signInProven'>;
  /** Whether an absolute URL's origin is one the SPA runs on (APP_URL, CORS_ORIGINS). */
  allowedOrigin: (origin: string) => boolean;
  events: SecurityEventRecorder;
}

export interface StartInput {
  transport: 'cookie' | 'body';
  rememberMe: boolean;
  returnTo?: string;
}

/** The refusals the exchange answers, each a clear problem for the SPA to show. */
const REFUSALS: Record<string, () => AppError> = {
  OIDC_LOGIN_FAILED: () => AppError.unauthorized('OIDC_LOGIN_FAILED', 'The provider’s answer could not be verified (or it refused the sign-in); start again.'),
  OIDC_EMAIL_NOT_VERIFIED: () =>
    AppError.forbidden('OIDC_EMAIL_NOT_VERIFIED', 'An account here has this address, which the provider has not verified: sign in to that account another way, then link the provider from it.'),
  OIDC_LINK_REQUIRED: () =>
    AppError.conflict('OIDC_LINK_REQUIRED', 'An account here has this address. We have mailed it a link: following it signs you in and links the provider, proving the account is yours.'),
  OIDC_NO_ACCOUNT: () => AppError.forbidden('OIDC_NO_ACCOUNT', 'No account here signs in with this provider identity.'),
};

const unavailable = (cause?: unknown) => AppError.unavailable('OIDC_PROVIDER_UNAVAILABLE', 'The sign-in provider cannot be reached right now; try again in a moment or sign in another way.', cause);

/** The provider did not answer (refused connection, DNS, timeout), as opposed to answering no. */
function unreachable(error: unknown): boolean {
  return error instanceof TypeError || (error instanceof oidc.ClientError && (error.code === 'OAUTH_TIMEOUT' || error.code === 'OAUTH_ABORT'));
}

/**
 * OpenID Connect sign-in (docs/DESIGN.md §5.10): authorization code with PKCE (S256), `state`
 * bound to the browser by an HttpOnly cookie, `nonce`, the ID token checked against the
 * provider's JWKS; the SPA gets a one-time code in the fragment of its own URL, never a token.
 * An identity is (issuer, subject); an address that belongs to an account links only when the
 * provider verified it and the person proves the account (docs/SECURITY.md, account linking).
 */
export function createOidc(deps: OidcDeps) {
  const { providers, flows, identities, accounts, events } = deps;
  const redirectUri = (provider: string) => `${deps.config.publicUrl}/api/auth/oidc/${provider}/callback`;

  function discovered(providerId: string): DiscoveredProvider {
    if (!providers.settingsOf(providerId)) throw AppError.notFound('provider');
    const provider = providers.get(providerId);
    if (!provider) throw unavailable();
    return provider;
  }

  /** Where the SPA gets its code: an absolute URL on an allowlisted origin, APP_URL/oidc/callback by default. */
  function returnUrl(returnTo: string | undefined): string {
    if (returnTo === undefined) return `${deps.config.appUrl}/oidc/callback`;
    let url: URL;
    try {
      url = new URL(returnTo);
    } catch {
      throw AppError.validation([{ path: 'returnTo', message: 'must be an absolute URL' }]);
    }
    if (!/^https?:$/.test(url.protocol) || url.hash !== '' || !deps.allowedOrigin(url.origin)) {
      throw AppError.badRequest('RETURN_TO_NOT_ALLOWED', 'returnTo must be a page of the app, on one of its allowed origins.');
    }
    return url.href;
  }

  async function begin(providerId: string, input: StartInput, linkUserId?: string) {
    const { client } = discovered(providerId);
    const returnTo = returnUrl(input.returnTo);
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const { binding } = await flows.open({ provider: providerId, state, nonce, codeVerifier, returnTo, transport: input.transport, rememberMe: input.rememberMe, linkUserId });
    const location = oidc.buildAuthorizationUrl(client, {
      redirect_uri: redirectUri(providerId),
      scope: 'openid email profile',
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { location: location.href, binding };
  }

  /** Recorded with the reason; the account it concerns (if any) sees the attempt among its events. */
  function refuse(flow: OidcFlowModel, reason: string, refusal: keyof typeof REFUSALS, meta: RequestMeta, userId: string | null = null): Omit<FlowOutcome, 'identity'> {
    events.record({ type: 'oidc_login_refused', userId, ...meta, metadata: { provider: flow.provider, reason } });
    return { refusal };
  }

  /** Which account the identity signs in to, or why none (the linking rule). */
  async function resolve(provider: DiscoveredProvider, flow: OidcFlowModel, claims: oidc.IDToken, meta: RequestMeta): Promise<Omit<FlowOutcome, 'identity'>> {
    if (flow.linkUserId) return { userId: flow.linkUserId }; // linked at the exchange, by the same signed-in person
    const known = await identities.find(claims.iss, claims.sub);
    if (known) {
      await identities.used(known.id);
      return { userId: known.userId };
    }
    const email = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : null;
    const verified = claims.email_verified === true;
    const account = email ? await accounts.findByEmail(email) : null;
    if (account && !verified) return refuse(flow, 'email_not_verified', 'OIDC_EMAIL_NOT_VERIFIED', meta, account.id);
    if (account) {
      const identity = { provider: flow.provider, providerName: provider.settings.name, issuer: claims.iss, subject: claims.sub };
      await deps.magicLinks.sendLinkProof(account, identity, { transport: flow.transport, rememberMe: flow.rememberMe });
      return refuse(flow, 'link_required', 'OIDC_LINK_REQUIRED', meta, account.id);
    }
    if (!email || !verified || !provider.settings.signup) return refuse(flow, 'no_account', 'OIDC_NO_ACCOUNT', meta);
    return { userId: await signUp(flow, claims, email, meta) };
  }

  /** A provider that may create accounts, and an address it verified that has none: an account without a password. */
  async function signUp(flow: OidcFlowModel, claims: oidc.IDToken, email: string, meta: RequestMeta): Promise<string> {
    const name = typeof claims.name === 'string' && claims.name.trim() !== '' ? claims.name.trim().slice(0, 100) : email.split('@')[0]!;
    let user;
    try {
      user = await accounts.createWithoutPassword({ email, name });
    } catch (error) {
      if (error instanceof UniqueConstraintError) throw AppError.conflict('OIDC_LINK_REQUIRED', 'An account with this address was just created; sign in again.');
      throw error;
    }
    events.record({ type: 'account_created', userId: user.id, ...meta, metadata: { method: 'oidc', provider: flow.provider } });
    await identities.link(user.id, { provider: flow.provider, issuer: claims.iss, subject: claims.sub, email });
    events.record({ type: 'identity_linked', userId: user.id, ...meta, metadata: { provider: flow.provider, proof: 'signup' } });
    return user.id;
  }

  return {
    providers: () => providers.list(),

    /** The provider's authorization URL and the value of the cookie that binds the flow to this browser. */
    start: (providerId: string, input: StartInput) => begin(providerId, input),

    /** The same, for a signed-in person attaching a provider identity to their account. */
    startLink: (actor: Actor, providerId: string, input: StartInput) => begin(providerId, input, actor.userId),

    /** The provider's redirect back: where to send the browser, with a one-time code in the fragment. */
    async callback(providerId: string, search: string, state: string | undefined, binding: string | undefined, meta: RequestMeta): Promise<string> {
      const flow = state ? await flows.claimCallback(state, providerId, binding) : undefined;
      if (!flow) {
        events.record({ type: 'oidc_login_refused', ...meta, metadata: { provider: providerId, reason: 'state_mismatch' } });
        throw AppError.badRequest('OIDC_STATE_MISMATCH', 'This sign-in was not started in this browser, or it was already used or expired; start again.');
      }
      const provider = discovered(providerId);
      let claims: oidc.IDToken | undefined;
      try {
        const currentUrl = new URL(`${redirectUri(providerId)}${search}`);
        const tokens = await oidc.authorizationCodeGrant(provider.client, currentUrl, { pkceCodeVerifier: flow.codeVerifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true }, { redirect_uri: redirectUri(providerId) });
        claims = tokens.claims();
      } catch (error) {
        if (unreachable(error)) throw unavailable(error);
        const reason = error instanceof oidc.AuthorizationResponseError ? 'provider_error' : error instanceof oidc.ResponseBodyError ? 'code_rejected' : 'id_token_invalid';
        const code = await flows.settle(flow, refuse(flow, reason, 'OIDC_LOGIN_FAILED', meta));
        return `${flow.returnTo}#code=${code}`;
      }
      if (!claims) throw AppError.internal(new Error('no ID token claims after a checked code exchange'));
      const identity = { issuer: claims.iss, subject: claims.sub, email: typeof claims.email === 'string' ? claims.email.toLowerCase() : null };
      const code = await flows.settle(flow, { identity, ...(await resolve(provider, flow, claims, meta)) });
      return `${flow.returnTo}#code=${code}`;
    },

    /** The SPA's one-time code: the usual sign-in answer, a linked identity, or the refusal as a problem. */
    async exchange(code: string, actor: Actor | undefined, meta: RequestMeta) {
      const flow = await flows.claimExchange(code);
      if (!flow) throw AppError.badRequest('INVALID_OR_EXPIRED_CODE', 'This sign-in code is invalid, expired or already used; start again.');
      if (flow.refusal) throw (REFUSALS[flow.refusal] ?? REFUSALS.OIDC_LOGIN_FAILED!)();
      const identity = { provider: flow.provider, issuer: flow.identityIssuer!, subject: flow.identitySubject!, email: flow.identityEmail };
      if (flow.linkUserId) {
        if (actor?.userId !== flow.linkUserId) throw AppError.forbidden('OIDC_LINK_NOT_YOURS', 'Only the account that started linking can finish it: send its access token.');
        if (!(await identities.link(flow.linkUserId, identity))) throw AppError.conflict('IDENTITY_TAKEN', 'This provider identity already signs in to another account.');
        events.record({ type: 'identity_linked', userId: flow.linkUserId, ...meta, metadata: { provider: flow.provider, proof: 'session' } });
        return { linked: { provider: flow.provider, email: flow.identityEmail } };
      }
      const user = await accounts.findById(flow.resultUserId!);
      if (!user) throw REFUSALS.OIDC_NO_ACCOUNT!();
      events.record({ type: 'oidc_login', userId: user.id, ...meta, metadata: { provider: flow.provider } });
      return deps.auth.signInProven(user, { transport: flow.transport, rememberMe: flow.rememberMe, method: 'oidc' }, meta);
    },
  };
}

export type OidcService = ReturnType<typeof createOidc>;
