/**
 * `npm run keys:rotate`: adds a new current EdDSA signing key. Tokens signed by older keys
 * keep verifying until they expire; every instance picks the new key up within a minute.
 */
import { loadConfig, loadDotEnv } from '../config/env.js';
import { createSequelize } from '../db/database.js';
import { defineModels } from '../models/index.js';
import { SigningKeyStore } from '../modules/auth/signing-keys.js';

loadDotEnv();
const config = loadConfig();
const sequelize = createSequelize(config);
try {
  const keys = new SigningKeyStore(defineModels(sequelize), config.secrets.authSecret, (config.tokens.accessTtlS + 30) * 1000);
  const kid = await keys.rotate();
  const published = (await keys.jwks()).keys.length;
  process.stdout.write(`new signing key ${kid}; ${published} key(s) published in /.well-known/jwks.json\n`);
} finally {
  await sequelize.close();
}
