/**
 * `npm run keys:migrate-store`: creates the key store's table (the wrapped per-person data
 * keys) where KEY_STORE_URL points, or in the data database without it. The service does this
 * itself at start when its role may; a deployment whose app role may only read and write rows
 * runs this once with the owner's credentials, as it runs `npm run db:migrate`.
 */
import { KeyStore } from '../db/key-store.js';
import { runCli } from './cli-context.js';

await runCli(async ({ config, sequelize }) => {
  const keyStore = new KeyStore(config, sequelize);
  try {
    await keyStore.migrate();
    process.stdout.write(`key store ready (${keyStore.location})\n`);
  } finally {
    await keyStore.close();
  }
});
