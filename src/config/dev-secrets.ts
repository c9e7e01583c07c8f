import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Secrets {
  authSecret: string;
  dataEncryptionKey: string;
}

function generated(): Secrets {
  return {
    authSecret: randomBytes(32).toString('base64url'),
    dataEncryptionKey: randomBytes(32).toString('base64url'),
  };
}

/**
 * Development works with no variables at all: missing secrets are generated once and
 * kept in `data/dev-secrets.json` so tokens and encrypted text survive a restart.
 * Tests get fresh secrets in memory. Production never reaches this (config refuses first).
 */
export function resolveDevSecrets(
  env: 'development' | 'test' | 'production',
  dataDir: string,
  given: { authSecret?: string; dataEncryptionKey?: string },
): Secrets {
  if (given.authSecret && given.dataEncryptionKey) {
    return { authSecret: given.authSecret, dataEncryptionKey: given.dataEncryptionKey };
  }
  if (env === 'production') throw new Error('production secrets must be configured');

  let stored = generated();
  if (env === 'development') {
    const file = join(dataDir, 'dev-secrets.json');
    try {
      stored = JSON.parse(readFileSync(file, 'utf8')) as Secrets;
    } catch {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(file, JSON.stringify(stored), { mode: 0o600 });
    }
  }
  return {
    authSecret: given.authSecret ?? stored.authSecret,
    dataEncryptionKey: given.dataEncryptionKey ?? stored.dataEncryptionKey,
  };
}
