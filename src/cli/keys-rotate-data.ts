/**
 * `npm run keys:rotate-data`: after DATA_ENCRYPTION_KEY changed (the old one in
 * DATA_ENCRYPTION_KEYS_PREVIOUS), re-wraps every person's data key in the key store under the
 * new master key (content is not re-encrypted), moves counseling text and attachment keys and
 * names still under the single key of old (`enc1:`) to the data key of the session's client,
 * and re-encrypts authenticator-app secrets. Remove the old key once this has finished. Safe
 * to interrupt and run again.
 */
import { ContentCipher } from '../crypto/content-cipher.js';
import { DataCipher } from '../crypto/data-cipher.js';
import { DataKeys } from '../crypto/data-keys.js';
import { KeyStore } from '../db/key-store.js';
import { migrateAttachmentsToPersonKeys } from '../modules/files/index.js';
import { rotateTotpSecrets } from '../modules/mfa/index.js';
import { clientsOf, migrateToPersonKeys } from '../modules/sessions/index.js';
import { runCli } from './cli-context.js';

await runCli(async ({ config, sequelize, models }) => {
  const cipher = new DataCipher(config.secrets.dataEncryptionKey, config.secrets.previousDataEncryptionKeys);
  const keyStore = new KeyStore(config, sequelize);
  try {
    await keyStore.migrate();
    const keys = new DataKeys(keyStore, config.secrets.dataEncryptionKey, config.secrets.previousDataEncryptionKeys);
    const rewrapped = await keys.rewrap({
      onBatch: (progress) => process.stdout.write(`  data keys, batch ${progress.batches}: ${progress.examined} examined, ${progress.rewrapped} re-wrapped\n`),
    });
    process.stdout.write(`  data keys: ${rewrapped.examined} examined, ${rewrapped.rewrapped} re-wrapped under master key ${keys.currentMasterKeyId} (${keyStore.location})\n`);
    const content = new ContentCipher(keys, cipher);
    const text = await migrateToPersonKeys(models, content, {
      onBatch: (progress) => process.stdout.write(`  batch ${progress.batches}: ${progress.examined} examined, ${progress.reencrypted} moved to per-person keys\n`),
    });
    const files = await migrateAttachmentsToPersonKeys({ models, content, clientsOf: (ids) => clientsOf(models, ids) }, {
      onBatch: (progress) => process.stdout.write(`  attachments, batch ${progress.batches}: ${progress.examined} examined, ${progress.reencrypted} moved to per-person keys\n`),
    });
    process.stdout.write(`  attachment keys and names: ${files.examined} examined, ${files.reencrypted} moved to per-person keys\n`);
    const totp = await rotateTotpSecrets(models, cipher);
    process.stdout.write(`  authenticator-app secrets: ${totp.examined} examined, ${totp.reencrypted} re-encrypted\n`);
    const examined = text.examined + files.examined;
    const moved = text.reencrypted + files.reencrypted;
    process.stdout.write(`done: ${rewrapped.rewrapped} data keys re-wrapped, ${examined} older encrypted values examined, ${moved} moved to per-person keys\n`);
  } finally {
    await keyStore.close();
  }
});
