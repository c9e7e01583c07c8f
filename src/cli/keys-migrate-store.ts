/**
 * `npm run keys:migrate-store`: creates the key store's table (the wrapped per-person data
 * keys) in the database KEY_STORE_URL names (or the SQLite file beside the data's). The
 * service does this itself at start when its role may; where the key store's role may only
 * read and write rows, run this once with an owner's URL in KEY_STORE_URL. Without
 * KEY_STORE_URL on PostgreSQL the table comes with `npm run db:migrate`.
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
