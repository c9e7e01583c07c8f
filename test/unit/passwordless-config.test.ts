import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/env.js';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'confidant-oidc-config-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const STAFF = { id: 'staff-login', name: 'Practice login', issuer: 'https://login.example.com', clientId: 'confidant' };
const env = (extra: Record<string, string>) => ({ NODE_ENV: 'test', DATA_DIR: dataDir, ...extra });

function problems(extra: Record<string, string>, base = env): string {
  try {
    loadConfig(base(extra));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('OIDC_PROVIDERS', () => {
  it('is empty by default, and the magic links have their defaults', () => {
    const config = loadConfig(env({}));
    expect(config.oidc.providers).toEqual([]);
    expect(config.magicLinks).toEqual({ signup: false, perAddressMax: 3, perClientMax: 10 });
  });

  it('takes each secret from OIDC_<ID>_CLIENT_SECRET (dashes as underscores) or its _FILE, never from the JSON', () => {
    const file = join(dataDir, 'secret');
    writeFileSync(file, 'from-a-file\n');
    const providers = [STAFF, { ...STAFF, id: 'google', issuer: 'https://accounts.google.com' }];
    const config = loadConfig(env({ OIDC_PROVIDERS: JSON.stringify(providers), OIDC_STAFF_LOGIN_CLIENT_SECRET: 'from-env', OIDC_GOOGLE_CLIENT_SECRET_FILE: file }));

    expect(config.oidc.providers.map((provider) => [provider.id, provider.clientSecret, provider.signup])).toEqual([
      ['staff-login', 'from-env', false],
      ['google', 'from-a-file', false],
    ]);
  });

  it('refuses JSON that is not a list of providers, naming the field', () => {
    expect(problems({ OIDC_PROVIDERS: '{not json' })).toMatch(/OIDC_PROVIDERS: not JSON/);
    expect(problems({ OIDC_PROVIDERS: JSON.stringify([{ ...STAFF, issuer: 'ftp://x' }]) })).toMatch(/OIDC_PROVIDERS\.0\.issuer/);
    expect(problems({ OIDC_PROVIDERS: JSON.stringify([{ ...STAFF, id: 'Has Spaces' }]) })).toMatch(/OIDC_PROVIDERS\.0\.id/);
    expect(problems({ OIDC_PROVIDERS: JSON.stringify([{ ...STAFF, clientSecret: 'inline' }]) })).toMatch(/OIDC_PROVIDERS\.0/);
  });

  it('refuses a provider without its secret, a duplicate id, and both the secret and its _FILE', () => {
    expect(problems({ OIDC_PROVIDERS: JSON.stringify([STAFF]) })).toContain('OIDC_STAFF_LOGIN_CLIENT_SECRET (or OIDC_STAFF_LOGIN_CLIENT_SECRET_FILE) is required');
    expect(problems({ OIDC_PROVIDERS: JSON.stringify([STAFF, STAFF]), OIDC_STAFF_LOGIN_CLIENT_SECRET: 's' })).toContain('appears twice');
    const file = join(dataDir, 'secret');
    writeFileSync(file, 'x');
    expect(problems({ OIDC_PROVIDERS: JSON.stringify([STAFF]), OIDC_STAFF_LOGIN_CLIENT_SECRET: 's', OIDC_STAFF_LOGIN_CLIENT_SECRET_FILE: file })).toContain('both set');
  });

  it('refuses a plain-HTTP issuer in production, and never puts a secret in the message', () => {
    const production = (extra: Record<string, string>) => ({
      NODE_ENV: 'production',
      DATA_DIR: dataDir,
      DATABASE_URL: 'postgres://confidant@db.internal:5432/confidant',
      CORS_ORIGINS: 'https://app.example.com',
      AUTH_SECRET: randomBytes(32).toString('base64url'),
      DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
      ...extra,
    });
    const message = problems({ OIDC_PROVIDERS: JSON.stringify([{ ...STAFF, issuer: 'http://login.example.com' }]), OIDC_STAFF_LOGIN_CLIENT_SECRET: 'very-secret-value' }, production);
    expect(message).toContain('must be https in production');
    expect(message).not.toContain('very-secret-value');
  });

  it('reads MAGIC_LINK_SIGNUP and the budgets', () => {
    expect(loadConfig(env({ MAGIC_LINK_SIGNUP: 'true', MAGIC_LINK_ADDRESS_MAX: '5', MAGIC_LINK_CLIENT_MAX: '20' })).magicLinks).toEqual({ signup: true, perAddressMax: 5, perClientMax: 20 });
    expect(problems({ MAGIC_LINK_SIGNUP: 'maybe' })).toMatch(/MAGIC_LINK_SIGNUP/);
    expect(problems({ MAGIC_LINK_CLIENT_MAX: '0' })).toMatch(/MAGIC_LINK_CLIENT_MAX/);
  });
});
