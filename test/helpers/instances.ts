import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config/env.js';
import { createSequelize } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrator.js';
import type { TestDatabase } from './database.js';

/**
 * The environment of several app instances over one freshly migrated database, as a
 * deployment runs them: the same secrets, no scheduled jobs, and (with `redisUrl`) a Redis
 * key prefix of their own, so nothing else using that Redis can disturb them.
 */
export async function sharedInstanceEnv(database: TestDatabase, options: { redisUrl?: string; name: string; env?: Record<string, string> }) {
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    ...database.env,
    AUTH_SECRET: randomBytes(32).toString('base64url'),
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    ...(options.redisUrl && { REDIS_URL: options.redisUrl }),
    REDIS_KEY_PREFIX: `confidant-${options.name}-${randomBytes(4).toString('hex')}:`,
    JOBS_INTERVAL_S: '0',
    ...options.env,
  };
  const setup = createSequelize(loadConfig(env));
  try {
    await migrate(setup);
  } finally {
    await setup.close();
  }
  return env;
}
