/**
 * `npm run keys:rotate-data`: re-encrypts counseling text and authenticator-app secrets under the current
 * DATA_ENCRYPTION_KEY. Put the old key in DATA_ENCRYPTION_KEYS_PREVIOUS first; remove it
 * once this has finished. Safe to interrupt and run again.
 */
import { DataCipher } from '../crypto/data-cipher.js';
import { rotateFileKeys } from '../modules/files/index.js';
import { rotateTotpSecrets } from '../modules/mfa/index.js';
import { rotateDataKeys } from '../modules/sessions/index.js';
import { runCli } from './cli-context.js';

await runCli(async ({ config, models }) => {
  const cipher = new DataCipher(config.secrets.dataEncryptionKey, config.secrets.previousDataEncryptionKeys);
  const result = await rotateDataKeys(models, cipher, {
    onBatch: (progress) => process.stdout.write(`  batch ${progress.batches}: ${progress.examined} examined, ${progress.reencrypted} re-encrypted\n`),
  });
  const totp = await rotateTotpSecrets(models, cipher);
  const files = await rotateFileKeys(models, cipher);
  process.stdout.write(`  attachment keys and names: ${files.examined} examined, ${files.reencrypted} re-encrypted\n`);
  process.stdout.write(`  authenticator-app secrets: ${totp.examined} examined, ${totp.reencrypted} re-encrypted\n`);
  process.stdout.write(`done: ${result.examined} encrypted values examined, ${result.reencrypted} re-encrypted under key ${cipher.currentKeyId}\n`);
});
