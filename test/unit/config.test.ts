import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, productionLookalikeWarning } from '../../src/config/env.js';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'confidant-config-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

/** Runs loadConfig and returns the ConfigError it throws. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).not.toContain('\n');
    return error as ConfigError;
  }
  throw new Error('loadConfig accepted the environment');
}

function production(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'production',
    STORAGE_LOCAL_ALLOWED: 'true',
    DATA_DIR: dataDir,
    DATABASE_URL: 'postgres://confidant@db.internal:5432/confidant',
    CORS_ORIGINS: 'https://app.example.com',
    AUTH_SECRET: randomBytes(32).toString('base64url'),
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    ...overrides,
  };
}

describe('loadConfig in development and test', () => {
  it('works with no variables at all and persists a generated dev secret under DATA_DIR', () => {
    const config = loadConfig({ DATA_DIR: dataDir });
    expect(config).toMatchObject({
      env: 'development',
      host: '127.0.0.1',
      port: 3000,
      publicUrl: 'http://localhost:3000',
      appUrl: 'http://localhost:5173',
      corsOrigins: ['http://localhost:5173'],
      trustProxy: 0,
      bodyLimit: '1mb',
      database: { url: undefined },
      requireEmailVerification: false,
      rateLimits: { global: { max: 600, windowS: 600 }, write: { max: 300, windowS: 600 }, auth: { max: 10, windowS: 60 } },
      server: { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 },
      log: { level: 'info', format: 'dev' },
    });
    expect(Buffer.byteLength(config.secrets.authSecret)).toBeGreaterThanOrEqual(32);
    expect(config.secrets.authSecret).not.toBe(config.secrets.dataEncryptionKey);

    const file = join(dataDir, 'dev-secrets.json');
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(loadConfig({ DATA_DIR: dataDir }).secrets).toEqual(config.secrets);
  });

  it('keeps test secrets in memory and is silent by default', () => {
    const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir });
    expect(config.isTest).toBe(true);
    expect(config.log.level).toBe('silent');
    expect(existsSync(join(dataDir, 'dev-secrets.json'))).toBe(false);
  });

  it('returns a frozen object', () => {
    const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads a secret from NAME_FILE, trimmed', () => {
    const secret = randomBytes(32).toString('hex');
    const file = join(dataDir, 'auth-secret');
    writeFileSync(file, `${secret}\n`);
    const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, AUTH_SECRET_FILE: file });
    expect(config.secrets.authSecret).toBe(secret);
  });

  it('reads DATABASE_URL from DATABASE_URL_FILE', () => {
    const file = join(dataDir, 'database-url');
    writeFileSync(file, 'postgres://app@db.internal:5432/confidant');
    expect(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, DATABASE_URL_FILE: file }).database.url).toBe('postgres://app@db.internal:5432/confidant');
  });

  it('refuses NAME and NAME_FILE both set, naming the variable', () => {
    const file = join(dataDir, 'auth-secret');
    writeFileSync(file, randomBytes(32).toString('hex'));
    const error = configError({ NODE_ENV: 'test', DATA_DIR: dataDir, AUTH_SECRET: randomBytes(32).toString('hex'), AUTH_SECRET_FILE: file });
    expect(error.message).toContain('AUTH_SECRET and AUTH_SECRET_FILE');
  });

  it('refuses a NAME_FILE that cannot be read, without printing a secret', () => {
    const error = configError({ NODE_ENV: 'test', DATA_DIR: dataDir, AUTH_SECRET_FILE: join(dataDir, 'missing') });
    expect(error.message).toContain('AUTH_SECRET_FILE');
  });

  it.each(['abc', '70000', '-1', '3.5'])('refuses PORT=%s with a ConfigError naming PORT', (port) => {
    expect(configError({ NODE_ENV: 'test', DATA_DIR: dataDir, PORT: port }).message).toMatch(/\bPORT\b/);
  });

  it.each(['PORT', 'TRUST_PROXY', 'JOBS_INTERVAL_S', 'REFRESH_REUSE_GRACE_S', 'RATE_LIMIT_AUTH_MAX'])(
    'refuses an empty %s= instead of reading it as 0, with a message that says it is empty',
    (name) => {
      const { message } = configError({ NODE_ENV: 'test', DATA_DIR: dataDir, [name]: '' });
      expect(message).toContain(`${name}: is empty`);
    },
  );

  it('reads a port with surrounding spaces and keeps the default when PORT is unset', () => {
    expect(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, PORT: ' 8080 ' }).port).toBe(8080);
    expect(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir }).port).toBe(3000);
  });

  it.each([
    ['TRUST_PROXY', 'yes'],
    ['BODY_LIMIT', 'lots'],
    ['DATABASE_URL', 'mysql://db/confidant'],
    ['RATE_LIMIT_GLOBAL_MAX', '0'],
    ['CORS_ORIGINS', 'https://app.example.com/path'],
    ['LIVE_AUTH_TIMEOUT_MS', '50'],
    ['LIVE_MESSAGES_PER_S', '0'],
    ['LIVE_MAX_CONNECTIONS_PER_ADDRESS', 'many'],
    ['LIVE_HEARTBEAT_S', '0'],
  ])('refuses an invalid %s, naming it', (name, value) => {
    expect(configError({ NODE_ENV: 'test', DATA_DIR: dataDir, [name]: value }).message).toContain(name);
  });

  it('gives the live channel its defaults: 20 sockets an address, 5 an account, 20 messages a second, 5 s to authenticate, 30 s heartbeats', () => {
    expect(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir }).live).toEqual({ maxPerAddress: 20, maxPerUser: 5, messagesPerS: 20, authTimeoutMs: 5000, heartbeatMs: 30_000 });
  });

  it('sets the absolute session lifetimes to 30 days, and 90 with remember-me, by default', () => {
    const { tokens } = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir });
    expect(tokens).toMatchObject({ sessionTtlDays: 7, sessionAbsoluteTtlDays: 30, rememberMeTtlDays: 30, rememberMeAbsoluteTtlDays: 90 });
  });

  it.each([
    ['SESSION_ABSOLUTE_TTL_DAYS', { SESSION_TTL_DAYS: '14', SESSION_ABSOLUTE_TTL_DAYS: '10' }],
    ['REMEMBER_ME_ABSOLUTE_TTL_DAYS', { REMEMBER_ME_ABSOLUTE_TTL_DAYS: '20' }],
  ])('refuses %s shorter than the sliding lifetime it bounds', (name, env) => {
    expect(configError({ NODE_ENV: 'test', DATA_DIR: dataDir, ...env }).message).toContain(`${name} must be at least`);
  });

  it('names every invalid variable at once', () => {
    const { message } = configError({ NODE_ENV: 'test', DATA_DIR: dataDir, PORT: 'abc', TRUST_PROXY: '-2' });
    expect(message).toContain('PORT');
    expect(message).toContain('TRUST_PROXY');
  });
});

describe('loadConfig in production', () => {
  it('accepts a complete production environment with production defaults', () => {
    const config = loadConfig(production());
    expect(config).toMatchObject({ isProduction: true, host: '0.0.0.0', requireEmailVerification: true, log: { level: 'info', format: 'json' } });
    expect(existsSync(join(dataDir, 'dev-secrets.json'))).toBe(false);
  });

  it.each(['DATABASE_URL', 'CORS_ORIGINS', 'AUTH_SECRET', 'DATA_ENCRYPTION_KEY'])('refuses to start without %s', (name) => {
    expect(configError(production({ [name]: undefined })).message).toContain(`${name} is required in production`);
  });

  it.each(['AUTH_SECRET', 'DATA_ENCRYPTION_KEY'])('refuses %s shorter than 32 bytes', (name) => {
    expect(configError(production({ [name]: 'x'.repeat(31) })).message).toContain(`${name} must be at least 32 bytes`);
  });

  it('counts bytes, not characters', () => {
    expect(configError(production({ AUTH_SECRET: `${'é'.repeat(15)}a` })).message).toContain('AUTH_SECRET must be at least 32 bytes');
    expect(loadConfig(production({ AUTH_SECRET: 'é'.repeat(16) })).secrets.authSecret).toBe('é'.repeat(16));
  });

  it.each([
    ['AUTH_SECRET', 'replace-me-with-at-least-32-random-bytes'],
    ['DATA_ENCRYPTION_KEY', 'REPLACE-ME-WITH-ANOTHER-32-RANDOM-BYTES'],
  ])('refuses %s set to a known placeholder', (name, value) => {
    expect(configError(production({ [name]: value })).message).toContain(`${name} is a placeholder value`);
  });

  it('refuses AUTH_SECRET equal to DATA_ENCRYPTION_KEY', () => {
    const shared = randomBytes(32).toString('hex');
    const { message } = configError(production({ AUTH_SECRET: shared, DATA_ENCRYPTION_KEY: shared }));
    expect(message).toContain('AUTH_SECRET and DATA_ENCRYPTION_KEY must differ');
    expect(message).not.toContain(shared);
  });

  it('names every problem in one message', () => {
    const { message } = configError({ NODE_ENV: 'production', DATA_DIR: dataDir });
    for (const name of ['DATABASE_URL', 'CORS_ORIGINS', 'AUTH_SECRET', 'DATA_ENCRYPTION_KEY']) expect(message).toContain(name);
  });

  it('never generates secrets in production', () => {
    configError(production({ AUTH_SECRET: undefined, DATA_ENCRYPTION_KEY: undefined }));
    expect(existsSync(join(dataDir, 'dev-secrets.json'))).toBe(false);
  });

  it('does not echo a secret value in its message', () => {
    const short = 'short-but-secret-value';
    expect(configError(production({ AUTH_SECRET: short })).message).not.toContain(short);
  });
});

describe('NODE_ENV left unset on a production-like configuration', () => {
  const deployment = () => ({
    DATA_DIR: dataDir,
    DATABASE_URL: 'postgres://confidant@db.internal:5432/confidant',
    CORS_ORIGINS: 'https://app.example.com',
    AUTH_SECRET: randomBytes(32).toString('base64url'),
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
  });

  it('records that development was only the default, and exposes no debug details then', () => {
    const config = loadConfig(deployment());

    expect(config).toMatchObject({ env: 'development', nodeEnvExplicit: false, exposeDebug: false });
  });

  it('exposes debug details only when NODE_ENV=development was set explicitly', () => {
    expect(loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'development' })).toMatchObject({ nodeEnvExplicit: true, exposeDebug: true });
    expect(loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test' }).exposeDebug).toBe(false);
    expect(loadConfig(production()).exposeDebug).toBe(false);
  });

  it('warns, naming what looks like production and what to set', () => {
    const warning = productionLookalikeWarning(loadConfig(deployment()));

    expect(warning).toMatch(/^NODE_ENV is not set, so it defaults to development, but the configuration looks like production \(DATABASE_URL, AUTH_SECRET, CORS_ORIGINS set\)/);
    expect(warning).toContain('Set NODE_ENV=production');
    expect(warning).not.toContain(deployment().DATABASE_URL); // names variables, never values
  });

  it.each([
    ['NODE_ENV=development with two of the signs', { DATA_DIR: dataDir, NODE_ENV: 'development', DATABASE_URL: 'postgres://confidant@db.internal:5432/confidant', CORS_ORIGINS: 'https://app.example.com' }, /^NODE_ENV=development, but/],
    ['RENDER set, whatever else', { DATA_DIR: dataDir, RENDER: 'true' }, /\(RENDER set\)/],
  ])('warns for %s', (_label, env, expected) => {
    expect(productionLookalikeWarning(loadConfig(env))).toMatch(expected);
  });

  it.each([
    ['production', () => production()],
    ['no variables at all', () => ({ DATA_DIR: dataDir })],
    ['only a local PostgreSQL', () => ({ DATA_DIR: dataDir, DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/confidant' })],
  ])('stays quiet for %s', (_label, env) => {
    expect(productionLookalikeWarning(loadConfig(env()))).toBeUndefined();
  });
});

describe('second factors and passkeys', () => {
  it('requires a second factor of admins and counselors in production and of nobody elsewhere, by default', () => {
    expect(loadConfig(production()).mfa.requiredRoles).toEqual(['admin', 'counselor']);
    expect(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir }).mfa.requiredRoles).toEqual([]);
    expect(loadConfig(production({ MFA_REQUIRED_ROLES: '' })).mfa.requiredRoles).toEqual([]);
    expect(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, MFA_REQUIRED_ROLES: ' admin , user ' }).mfa.requiredRoles).toEqual(['admin', 'user']);
  });

  it('refuses a role that does not exist in MFA_REQUIRED_ROLES, naming it', () => {
    expect(configError({ NODE_ENV: 'test', DATA_DIR: dataDir, MFA_REQUIRED_ROLES: 'admin,superuser' }).message).toContain('MFA_REQUIRED_ROLES: "superuser" is not a role');
  });

  it('takes the relying-party id from APP_URL and the passkey origins from the exact CORS origins under it', () => {
    const config = loadConfig(production({ APP_URL: 'https://app.example.com', CORS_ORIGINS: 'https://app.example.com,https://admin.app.example.com,https://other.org,https://pr-*.app.example.com' }));
    expect(config.webauthn).toEqual({ rpId: 'app.example.com', rpName: 'Confidant', origins: ['https://app.example.com', 'https://admin.app.example.com'] });
  });

  it('lets WEBAUTHN_RP_ID widen the relying party to the registrable domain', () => {
    const config = loadConfig(production({ APP_URL: 'https://app.example.com', WEBAUTHN_RP_ID: 'example.com', CORS_ORIGINS: 'https://app.example.com,https://www.example.com' }));
    expect(config.webauthn.rpId).toBe('example.com');
    expect(config.webauthn.origins).toEqual(['https://app.example.com', 'https://www.example.com']);
  });
});

describe('consent documents', () => {
  it('reads CONSENT_DOCUMENTS as documents with their current versions, none when unset', () => {
    expect(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir }).consent.documents).toEqual([]);
    expect(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, CONSENT_DOCUMENTS: ' terms:2026-01 , health_data_processing:v2.1 ' }).consent.documents).toEqual([
      { document: 'terms', version: '2026-01' },
      { document: 'health_data_processing', version: 'v2.1' },
    ]);
  });

  it.each([
    ['cookies:1', 'CONSENT_DOCUMENTS: "cookies" is not a document'],
    ['terms', 'CONSENT_DOCUMENTS: the version of "terms" must be'],
    ['terms:1:2', 'CONSENT_DOCUMENTS: the version of "terms" must be'],
    ['terms:a b', 'CONSENT_DOCUMENTS: the version of "terms" must be'],
    ['terms:1,terms:2', 'CONSENT_DOCUMENTS: "terms" appears twice'],
  ])('refuses CONSENT_DOCUMENTS=%s, naming the problem', (value, message) => {
    expect(configError({ NODE_ENV: 'test', DATA_DIR: dataDir, CONSENT_DOCUMENTS: value }).message).toContain(message);
  });
});

describe('retention of sessions’ data', () => {
  const test = (env: Record<string, string> = {}) => ({ NODE_ENV: 'test', DATA_DIR: dataDir, ...env });

  it('lets organizations keep data from the platform’s retention up to ORG_RETENTION_MAX_DAYS by default, and lower when ORG_RETENTION_MIN_DAYS says so', () => {
    expect(loadConfig(test()).retention).toMatchObject({ sessionDataDays: 365, organizationDays: { min: 365, max: 3650 } });
    expect(loadConfig(test({ SESSION_DATA_RETENTION_DAYS: '730' })).retention.organizationDays).toEqual({ min: 730, max: 3650 });
    expect(loadConfig(test({ ORG_RETENTION_MIN_DAYS: '30', ORG_RETENTION_MAX_DAYS: '7300' })).retention.organizationDays).toEqual({ min: 30, max: 7300 });
  });

  it.each([
    [{ ORG_RETENTION_MIN_DAYS: '400', ORG_RETENTION_MAX_DAYS: '399' }, 'ORG_RETENTION_MAX_DAYS must be at least ORG_RETENTION_MIN_DAYS'],
    [{ SESSION_DATA_RETENTION_DAYS: '4000' }, 'ORG_RETENTION_MAX_DAYS must be at least SESSION_DATA_RETENTION_DAYS (ORG_RETENTION_MIN_DAYS is unset)'],
    [{ ORG_RETENTION_MAX_DAYS: '0' }, 'ORG_RETENTION_MAX_DAYS'],
  ])('refuses bounds that leave no room (%o)', (env, message) => {
    expect(configError(test(env)).message).toContain(message);
  });
});

describe('the key store (KEY_STORE_URL)', () => {
  it('takes a PostgreSQL URL, also from KEY_STORE_URL_FILE', () => {
    expect(loadConfig(production({ KEY_STORE_URL: 'postgres://keys@keys.internal:5432/confidant_keys' })).keyStore.url).toBe('postgres://keys@keys.internal:5432/confidant_keys');
    const file = join(dataDir, 'key_store_url');
    writeFileSync(file, 'postgres://keys@keys.internal:5432/from_file\n');
    expect(loadConfig(production({ KEY_STORE_URL_FILE: file })).keyStore.url).toBe('postgres://keys@keys.internal:5432/from_file');
  });

  it('is optional: without it the keys stay in the data database (the fallback), or a second SQLite file', () => {
    expect(loadConfig(production()).keyStore.url).toBeUndefined();
    expect(loadConfig({ DATA_DIR: dataDir }).keyStore.url).toBeUndefined();
  });

  it('refuses another scheme, and the data database itself in production', () => {
    expect(configError(production({ KEY_STORE_URL: 'mysql://keys@h/db' })).message).toContain('KEY_STORE_URL');
    expect(configError(production({ KEY_STORE_URL: 'postgres://confidant@db.internal:5432/confidant' })).message).toContain('KEY_STORE_URL must name another database than DATABASE_URL');
  });
});
