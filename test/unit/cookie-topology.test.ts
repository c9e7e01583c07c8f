import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { configurationWarnings } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { COOKIE_TOPOLOGY_ADVICE, crossSiteOrigins } from '../../src/http/cookie-topology.js';
import type { LogFields, Logger } from '../../src/infra/logger.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

describe('crossSiteOrigins', () => {
  it('finds two onrender.com services cross-site (onrender.com is a public suffix)', () => {
    expect(crossSiteOrigins('https://confidant-api.onrender.com', ['https://confidant-app.onrender.com'])).toEqual(['https://confidant-app.onrender.com']);
  });

  it('finds two vercel.app deployments cross-site', () => {
    expect(crossSiteOrigins('https://confidant-api.vercel.app', ['https://confidant-app.vercel.app'])).toEqual(['https://confidant-app.vercel.app']);
  });

  it('finds an onrender.com API and a vercel.app SPA cross-site', () => {
    expect(crossSiteOrigins('https://confidant-api.onrender.com', ['https://confidant.vercel.app'])).toEqual(['https://confidant.vercel.app']);
  });

  it('finds app.example.com and api.example.com same-site', () => {
    expect(crossSiteOrigins('https://api.example.com', ['https://app.example.com'])).toEqual([]);
  });

  it('finds two localhost ports same-site', () => {
    expect(crossSiteOrigins('http://localhost:3000', ['http://localhost:5173'])).toEqual([]);
  });

  it('treats another scheme on the same domain as cross-site (schemeful same-site)', () => {
    expect(crossSiteOrigins('https://api.example.com', ['http://app.example.com'])).toEqual(['http://app.example.com']);
  });

  it('handles preview patterns by the domain they match', () => {
    expect(crossSiteOrigins('https://api.example.com', ['https://*.example.com'])).toEqual([]);
    expect(crossSiteOrigins('https://confidant-api.onrender.com', ['https://confidant-pr-*.onrender.com'])).toEqual(['https://confidant-pr-*.onrender.com']);
  });

  it('returns only the cross-site origins of a mixed list', () => {
    const origins = ['https://app.example.com', 'https://example.com', 'https://example.org', 'https://partner.example.net'];

    expect(crossSiteOrigins('https://api.example.com', origins)).toEqual(['https://example.org', 'https://partner.example.net']);
  });
});

describe('the start-up warning about cookie topology', () => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  function capturingLogger() {
    const warnings: string[] = [];
    const noop = (_message: string, _fields?: LogFields) => undefined;
    const logger: Logger = { debug: noop, info: noop, error: noop, warn: (message) => void warnings.push(message) };
    return { logger, warnings };
  }

  it('warns when an allowed origin is cross-site to PUBLIC_URL and names both supported topologies', async () => {
    const { logger, warnings } = capturingLogger();

    app = await createTestApp({
      env: { PUBLIC_URL: 'https://confidant-api.onrender.com', CORS_ORIGINS: 'https://confidant-app.onrender.com' },
      deps: { logger },
    });

    const warning = warnings.find((message) => message.startsWith('cookie transport:'));
    expect(warning).toBeDefined();
    expect(warning).toContain('https://confidant-app.onrender.com');
    expect(warning).toContain('https://confidant-api.onrender.com');
    expect(warning).toContain(COOKIE_TOPOLOGY_ADVICE);
    expect(warning).toMatch(/custom domain/);
    expect(warning).toMatch(/rewrite/);
    expect(warning).toMatch(/body transport/);
  });

  it('says nothing when every allowed origin is same-site', async () => {
    const { logger, warnings } = capturingLogger();

    app = await createTestApp({ env: { PUBLIC_URL: 'https://api.example.com', CORS_ORIGINS: 'https://app.example.com' }, deps: { logger } });

    expect(warnings.filter((message) => message.startsWith('cookie transport:'))).toEqual([]);
  });
});

describe('the start-up warning about consent', () => {
  const production = (env: Record<string, string>) =>
    loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://unused@127.0.0.1:5432/unused',
      CORS_ORIGINS: 'https://app.example.com',
      AUTH_SECRET: randomBytes(32).toString('base64url'),
      DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
      STORAGE_LOCAL_ALLOWED: 'true',
      ...env,
    });
  const consentWarnings = (env: Record<string, string>) => configurationWarnings(production(env)).filter((message) => message.startsWith('consent:'));

  it('warns in production when no health_data_processing version is in force, and not when one is', () => {
    expect(consentWarnings({})).toEqual([expect.stringContaining('GDPR Art. 9')]);
    expect(consentWarnings({ CONSENT_DOCUMENTS: 'terms:1' })).toHaveLength(1);
    expect(consentWarnings({ CONSENT_DOCUMENTS: 'terms:1,health_data_processing:1' })).toEqual([]);
  });
});
