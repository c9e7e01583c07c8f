import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import type ProviderClass from 'oidc-provider';

/**
 * oidc-provider 9 names Node 22 as its minimum and warns once on import under Node 20, where it
 * works (the tests run on both): that one line is kept out of the test output.
 */
async function loadProvider(): Promise<typeof ProviderClass> {
  /* eslint-disable no-console -- oidc-provider writes its notice with console.warn; only that one line is filtered */
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes('Unsupported runtime')) warn(...args);
  };
  try {
    return (await import('oidc-provider')).default;
  } finally {
    console.warn = warn;
  }
  /* eslint-enable no-console */
}

/** The provider's storage, in this process and per provider (its own in-memory default warns on every start). */
function memoryAdapter() {
  const stores = new Map<string, Map<string, { payload: Record<string, unknown>; expiresAt: number }>>();
  return class MemoryAdapter {
  private readonly store: Map<string, { payload: Record<string, unknown>; expiresAt: number }>;

  constructor(name: string) {
    this.store = stores.get(name) ?? new Map();
    stores.set(name, this.store);
  }

  async upsert(id: string, payload: Record<string, unknown>, expiresIn: number) {
    this.store.set(id, { payload, expiresAt: Date.now() + expiresIn * 1000 });
  }

  async find(id: string) {
    const entry = this.store.get(id);
    return entry && entry.expiresAt > Date.now() ? entry.payload : undefined;
  }

  async findByUid(uid: string) {
    for (const [id, entry] of this.store) if (entry.payload.uid === uid) return this.find(id);
    return undefined;
  }

  async findByUserCode() {
    return undefined;
  }

  async consume(id: string) {
    const entry = this.store.get(id);
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string) {
    this.store.delete(id);
  }

  async revokeByGrantId(grantId: string) {
    for (const [id, entry] of this.store) if (entry.payload.grantId === grantId) this.store.delete(id);
  }
  };
}

export interface TestAccount {
  email?: string;
  email_verified?: boolean;
  name?: string;
}

/** How the provider's token answer is altered before it leaves: a forged, replayed or stale ID token. */
export type Tamper = (idToken: string, forge: (claims: JWTPayload, key?: 'provider' | 'other') => Promise<string>) => Promise<string>;

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Who signs in at the provider's login step of the next flows. */
  signInAs(subject: string, account: TestAccount): void;
  /** Alters the ID token of the next token answers; `undefined` to stop. */
  tamper(with_: Tamper | undefined): void;
  /** The ID tokens the provider issued, newest last. */
  issuedIdTokens: string[];
  close(): Promise<void>;
}

/**
 * A real OpenID provider (oidc-provider, a certified implementation) on 127.0.0.1 and a port
 * of its own, with one confidential client for the app and an interaction step that signs in
 * whoever the test chose and consents at once. A hook after the token endpoint lets a test
 * alter the ID token, signed with the provider's own key or another one.
 */
export async function startOidcProvider(options: { redirectUris: string[]; clientId?: string }): Promise<TestOidcProvider> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = options.clientId ?? 'confidant';
  const clientSecret = randomBytes(24).toString('base64url');

  const signing = await generateKeyPair('RS256', { extractable: true });
  const other = await generateKeyPair('RS256', { extractable: true });
  const kid = 'test-provider-key';
  const jwk = { ...(await exportJWK(signing.privateKey)), kid, alg: 'RS256', use: 'sig' };

  const accounts = new Map<string, TestAccount>();
  let current = 'nobody';
  let tamper: Tamper | undefined;
  const issuedIdTokens: string[] = [];

  const Provider = await loadProvider();
  const provider = new Provider(issuer, {
    adapter: memoryAdapter(),
    ttl: { AccessToken: 300, AuthorizationCode: 60, IdToken: 300, Interaction: 300, Session: 600, Grant: 600 },
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: options.redirectUris, grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' }],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // The ID token carries the email claims itself (as Google's and Microsoft's do), not only the userinfo endpoint.
    conformIdTokenClaims: false,
    findAccount: (_ctx: unknown, id: string) => (accounts.has(id) ? { accountId: id, claims: () => ({ sub: id, ...accounts.get(id) }) } : undefined),
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
  });

  const forge = async (claims: JWTPayload, key: 'provider' | 'other' = 'provider') =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign((key === 'provider' ? signing : other).privateKey as CryptoKey);

  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { id_token?: string } | undefined;
    if (ctx.path !== '/token' || !body?.id_token) return;
    issuedIdTokens.push(body.id_token);
    if (tamper) body.id_token = await tamper(body.id_token, forge);
  });

  const handle = provider.callback();
  server.on('request', (req, res) => {
    if (!req.url?.startsWith('/interaction/')) return handle(req, res);
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === 'login') {
        await provider.interactionFinished(req, res, { login: { accountId: current } }, { mergeWithLastSubmission: false });
        return;
      }
      const grant = new provider.Grant({ accountId: details.session!.accountId, clientId });
      grant.addOIDCScope('openid email profile');
      await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
    })().catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });

  return {
    issuer,
    clientId,
    clientSecret,
    signInAs(subject, account) {
      accounts.set(subject, account);
      current = subject;
    },
    tamper(with_) {
      tamper = with_;
    },
    issuedIdTokens,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export { decodeJwt };
