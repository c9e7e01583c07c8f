/**
 * `npm run keys:rotate`: adds a new current EdDSA signing key. Tokens signed by older keys
 * keep verifying until they expire; every instance picks the new key up within a minute.
 */
import { SigningKeyStore } from '../modules/auth/index.js';
import { runCli } from './cli-context.js';

await runCli(async ({ config, models }) => {
  const keys = SigningKeyStore.fromConfig(models, config);
  const kid = await keys.rotate();
  const published = (await keys.jwks()).keys.length;
  process.stdout.write(`new signing key ${kid}; ${published} key(s) published in /.well-known/jwks.json\n`);
});
