// A local OpenID provider for trying "sign in with a provider" on a laptop: oidc-provider
// (a certified implementation, a devDependency) with one client for `npm start` and its
// built-in development login page, where any name or address signs in (with a verified
// address). Never use it for anything but development.
//
//   node examples/oidc-provider.mjs            # http://localhost:8910
//   (OIDC_DEV_PORT moves it; OIDC_DEV_API names the API when it is not http://localhost:3000)
//
// and start the API with (see README › Sign in with an OpenID provider):
//
//   OIDC_PROVIDERS='[{"id":"dev","name":"Local provider","issuer":"http://localhost:8910","clientId":"confidant-dev","signup":true}]' \
//   OIDC_DEV_CLIENT_SECRET=dev-secret-not-for-production npm start
import Provider from 'oidc-provider';

const PORT = Number(process.env.OIDC_DEV_PORT ?? 8910);
const API = process.env.OIDC_DEV_API ?? 'http://localhost:3000';
const issuer = `http://localhost:${PORT}`;

/** Whatever is typed at the login page is the account: an address, or a name that becomes one. */
function accountOf(login) {
  const email = login.includes('@') ? login.toLowerCase() : `${login.toLowerCase().replace(/[^a-z0-9.-]/g, '') || 'someone'}@example.com`;
  return { accountId: email, claims: () => ({ sub: email, email, email_verified: true, name: login }) };
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'confidant-dev',
      client_secret: 'dev-secret-not-for-production',
      redirect_uris: [`${API}/api/auth/oidc/dev/callback`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  conformIdTokenClaims: false, // the email claims in the ID token itself, as Google and Microsoft put them
  findAccount: (_ctx, id) => accountOf(id),
  pkce: { required: () => true },
  cookies: { keys: ['development-only-cookie-key'] },
});

provider.listen(PORT, () => {
  console.log(`OpenID provider for development at ${issuer} (client confidant-dev, redirect ${API}/api/auth/oidc/dev/callback)`);
});
