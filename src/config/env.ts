import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ROLES, type Role } from '../models/user.model.js';
import { resolveDevSecrets } from './dev-secrets.js';

/** Variables that may also be given as `NAME_FILE` (Docker and Render secret files). */
const SECRET_VARIABLES = [
  'DATABASE_URL',
  'KEY_STORE_URL',
  'REDIS_URL',
  'AUTH_SECRET',
  'DATA_ENCRYPTION_KEY',
  'DATA_ENCRYPTION_KEYS_PREVIOUS',
  'MONITORING_TOKEN',
  'METRICS_TOKEN',
  'SMTP_URL',
  'SENTRY_DSN',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
] as const;

/** Values copied from docs and examples; a production secret must never be one of them. */
const PLACEHOLDER_SECRETS = [
  'changeme',
  'change-me',
  'secret',
  'password',
  'replace-me-with-at-least-32-random-bytes',
  'replace-me-with-another-32-random-bytes',
];

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((value) => ['true', '1', 'yes', 'on'].includes(value));

/**
 * A whole number written in the environment. An empty value (`PORT=`) is a mistake, not zero:
 * coercion would turn it into 0, which means "a random port" or "jobs off".
 */
const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .min(1, 'is empty; remove the variable to use the default')
    .regex(/^-?\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min).max(max));
const positiveInt = wholeNumber(1);
const nonNegativeInt = wholeNumber(0);
const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: optionalText.describe('listen address; 0.0.0.0 in production, 127.0.0.1 otherwise'),
  PORT: wholeNumber(0, 65535).default(3000),
  DATA_DIR: z.string().default('data').describe('where the embedded SQLite file and dev secrets live'),
  DATABASE_URL: optionalText.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  DB_POOL_MAX: positiveInt.default(10),
  KEY_STORE_URL: optionalText
    .pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional())
    .describe("the key store's PostgreSQL database (wrapped per-person data keys), apart from DATABASE_URL so data backups do not carry the keys"),
  REDIS_URL: optionalText.pipe(z.url({ protocol: /^rediss?$/ }).optional()),
  REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/).default('confidant:').describe('namespace of every key and channel in Redis'),
  CORS_ORIGINS: optionalText,
  TRUST_PROXY: nonNegativeInt.default(0),
  RENDER: optionalText.describe('set by Render on its hosts'),
  AUTH_SECRET: optionalText,
  DATA_ENCRYPTION_KEY: optionalText,
  DATA_ENCRYPTION_KEYS_PREVIOUS: optionalText.describe('comma-separated earlier DATA_ENCRYPTION_KEYs, readable until keys:rotate-data ran'),
  PUBLIC_URL: optionalText.pipe(z.url().optional()),
  RENDER_EXTERNAL_URL: optionalText.pipe(z.url().optional()),
  APP_URL: z.url().default('http://localhost:5173'),
  MONITORING_TOKEN: optionalText.pipe(z.string().min(16).optional()),
  METRICS_TOKEN: optionalText.pipe(z.string().min(16).optional()).describe('bearer token that opens GET /metrics only (the Prometheus scraper)'),
  SMTP_URL: optionalText,
  MAIL_FROM: z.string().default('Confidant <no-reply@localhost>'),
  SENTRY_DSN: optionalText,
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalText.pipe(z.url().optional()).describe('OTLP endpoint; with @opentelemetry/sdk-node installed, traces go there'),
  REQUIRE_EMAIL_VERIFICATION: booleanFlag.optional(),
  RATE_LIMIT_GLOBAL_MAX: positiveInt.default(600),
  RATE_LIMIT_GLOBAL_WINDOW_S: positiveInt.default(600),
  RATE_LIMIT_WRITE_MAX: positiveInt.default(300),
  RATE_LIMIT_WRITE_WINDOW_S: positiveInt.default(600),
  RATE_LIMIT_AUTH_MAX: positiveInt.default(10),
  RATE_LIMIT_AUTH_WINDOW_S: positiveInt.default(60),
  ACCESS_TOKEN_TTL_S: positiveInt.default(900),
  SESSION_TTL_DAYS: positiveInt.default(7),
  REMEMBER_ME_TTL_DAYS: positiveInt.default(30),
  SESSION_ABSOLUTE_TTL_DAYS: positiveInt.default(30).describe('a login session without remember-me ends this long after sign-in, however active'),
  REMEMBER_ME_ABSOLUTE_TTL_DAYS: positiveInt.default(90).describe('the same for a remember-me session'),
  REFRESH_REUSE_GRACE_S: nonNegativeInt.default(10),
  UV_THREADPOOL_SIZE: wholeNumber(1, 1024).optional().describe("libuv's thread pool, read by Node itself; sizes password hashing"),
  PASSWORD_HASH_CONCURRENCY: positiveInt.optional().describe('argon2 hashes at once; default one less than the thread pool'),
  PASSWORD_HASH_QUEUE: nonNegativeInt.default(8).describe('argon2 hashes that may wait; beyond, 503 BUSY at once'),
  EMAIL_VERIFICATION_TTL_H: positiveInt.default(24),
  PASSWORD_RESET_TTL_MIN: positiveInt.default(30),
  INVITATION_TTL_DAYS: positiveInt.default(7).describe('how long an invitation to an organization can be accepted'),
  BREAK_GLASS_WINDOW_MIN: wholeNumber(1, 240).default(15).describe("how long a platform admin's break-glass access to one session's content lasts"),
  MFA_REQUIRED_ROLES: z.string().optional().describe('comma-separated roles that must sign in with a second factor; admin,counselor in production, none otherwise'),
  WEBAUTHN_RP_ID: optionalText.pipe(z.string().regex(/^[a-z0-9.-]+$/i, 'a host name such as example.com').optional()).describe("passkeys' relying-party id; the host of APP_URL by default"),
  CONSENT_DOCUMENTS: z
    .string()
    .optional()
    .describe('the documents people must accept and their current versions, as document:version pairs (documents: terms, privacy, health_data_processing), e.g. terms:2026-01,privacy:2026-01,health_data_processing:2026-01; unset asks for none'),
  MAGIC_LINK_SIGNUP: booleanFlag.default(false).describe('whether a magic link to an unknown address creates an account (without a password)'),
  MAGIC_LINK_ADDRESS_MAX: positiveInt.default(3).describe('magic links mailed to one address per 15 minutes; further requests get the same answer and no mail'),
  MAGIC_LINK_CLIENT_MAX: positiveInt.default(10).describe('magic links one client address may request per 15 minutes; then 429'),
  OIDC_PROVIDERS: optionalText.describe('JSON list of OpenID Connect providers: [{ id, name, issuer, clientId, signup? }]; secrets in OIDC_<ID>_CLIENT_SECRET(_FILE)'),
  OIDC_DISCOVERY_TIMEOUT_S: positiveInt.default(5).describe("how long one attempt to read a provider's discovery document may take"),
  BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, 'a size such as 100kb or 1mb')
    .default('1mb'),
  HEADERS_TIMEOUT_S: positiveInt.default(10),
  REQUEST_TIMEOUT_S: positiveInt.default(30),
  KEEP_ALIVE_TIMEOUT_S: positiveInt.default(75),
  SHUTDOWN_TIMEOUT_S: positiveInt.default(10),
  DB_READY_TIMEOUT_MS: positiveInt.default(2000),
  MAX_ENTRIES_PER_SESSION: positiveInt.default(2000),
  LIVE_MAX_CONNECTIONS_PER_ADDRESS: positiveInt.default(20).describe('open live-channel sockets one client address may hold on an instance; beyond, the upgrade is refused with 429'),
  LIVE_MAX_CONNECTIONS_PER_USER: positiveInt.default(5).describe('open live-channel sockets one account may hold on an instance; beyond, the socket is closed with 4429 at its auth message'),
  LIVE_MESSAGES_PER_S: positiveInt.default(20).describe('messages per second a live-channel socket may send (a token bucket of twice that)'),
  LIVE_AUTH_TIMEOUT_MS: wholeNumber(100, 60_000).default(5000).describe('how long a new live-channel socket has to send its auth message'),
  LIVE_HEARTBEAT_S: wholeNumber(1, 300).default(30).describe('ping interval of the live channel; a socket that missed the last pong is dropped'),
  JOBS_INTERVAL_S: nonNegativeInt.default(3600).describe('how often retention jobs run; 0 turns them off'),
  SESSION_DATA_RETENTION_DAYS: positiveInt.default(365).describe('how long the entries and attachments of an ended counseling session are kept, unless its organization sets its own'),
  ORG_RETENTION_MIN_DAYS: positiveInt.optional().describe("the shortest retention an organization may set for its sessions' data; SESSION_DATA_RETENTION_DAYS when unset (overrides may then only keep data longer)"),
  ORG_RETENTION_MAX_DAYS: positiveInt.default(3650).describe("the longest retention an organization may set for its sessions' data"),
  SECURITY_EVENT_RETENTION_DAYS: positiveInt.default(90),
  STORAGE_DRIVER: z.enum(['local', 's3']).optional().describe('where files live: s3 when S3_BUCKET is set, else a directory under DATA_DIR'),
  STORAGE_LOCAL_ALLOWED: booleanFlag.default(false).describe('production refuses the local directory (PaaS disks are ephemeral) unless this is true'),
  S3_BUCKET: optionalText.pipe(z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'a bucket name such as confidant-files').optional()),
  S3_REGION: z.string().trim().min(1).default('us-east-1'),
  S3_ENDPOINT: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()).describe('an S3-compatible endpoint (MinIO, R2, B2); unset = AWS'),
  S3_FORCE_PATH_STYLE: booleanFlag.default(false),
  S3_ACCESS_KEY_ID: optionalText,
  S3_SECRET_ACCESS_KEY: optionalText,
  S3_SSE: z.enum(['AES256', 'aws:kms']).default('AES256').describe('server-side encryption requested on every write'),
  S3_SSE_KMS_KEY_ID: optionalText,
  FILE_ATTACHMENT_MAX_MB: wholeNumber(1, 1024).default(50).describe('largest counseling attachment'),
  FILE_IMAGE_MAX_KB: wholeNumber(1, 20_480).default(2048).describe('largest avatar or logo'),
  FILE_QUOTA_MB: wholeNumber(1, 1_048_576).default(500).describe("a person's storage quota across their uploads"),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).optional(),
  LOG_FORMAT: z.enum(['dev', 'json']).optional(),
  GIT_COMMIT: optionalText,
  RENDER_GIT_COMMIT: optionalText,
});

type RawEnv = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Configuration error: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * `NAME`, or the contents of the file `NAME_FILE` names (Docker and Render secret files),
 * trimmed; a problem (both set, an unreadable file) is added to `problems`.
 */
export function secretFromEnv(env: NodeJS.ProcessEnv, name: string, problems: string[]): string | undefined {
  const file = env[`${name}_FILE`];
  if (!file) return env[name];
  if (env[name]) {
    problems.push(`${name} and ${name}_FILE are both set; keep one`);
    return undefined;
  }
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    problems.push(`${name}_FILE points to ${file}, which cannot be read`);
    return undefined;
  }
}

/** Reads `NAME_FILE` for every secret variable; giving both forms is a mistake worth stopping for. */
function withSecretFiles(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const resolved = { ...env };
  const problems: string[] = [];
  for (const name of SECRET_VARIABLES) resolved[name] = secretFromEnv(env, name, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return resolved;
}

/** A comma-separated list, trimmed, without empty items. */
function parseList(list: string | undefined): string[] {
  return (list ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin.length > 0);
}

/** One OpenID provider as OIDC_PROVIDERS lists it; its secret comes from the environment, never this JSON. */
const oidcProviderSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]{1,32}$/, 'lower-case letters, digits and dashes, at most 32'),
  name: z.string().trim().min(1).max(64),
  issuer: z.url({ protocol: /^https?$/ }),
  clientId: z.string().min(1).max(255),
  /** Whether a first sign-in whose (verified) address has no account creates one. */
  signup: z.boolean().default(false),
});

export interface OidcProviderConfig extends z.output<typeof oidcProviderSchema> {
  clientSecret: string;
}

/** OIDC_PROVIDERS with each secret from `OIDC_<ID>_CLIENT_SECRET` or its `_FILE`; https issuers only in production. */
function oidcProviders(env: NodeJS.ProcessEnv, raw: RawEnv, problems: string[]): OidcProviderConfig[] {
  if (!raw.OIDC_PROVIDERS) return [];
  let listed: unknown;
  try {
    listed = JSON.parse(raw.OIDC_PROVIDERS);
  } catch {
    problems.push('OIDC_PROVIDERS: not JSON; a list such as [{"id":"google","name":"Google","issuer":"https://accounts.google.com","clientId":"..."}]');
    return [];
  }
  const parsed = z.array(oidcProviderSchema).max(16).safeParse(listed);
  if (!parsed.success) {
    problems.push(...parsed.error.issues.map((issue) => `OIDC_PROVIDERS.${issue.path.join('.')}: ${issue.message}`));
    return [];
  }
  const providers: OidcProviderConfig[] = [];
  for (const provider of parsed.data) {
    const variable = `OIDC_${provider.id.toUpperCase().replace(/-/g, '_')}_CLIENT_SECRET`;
    const clientSecret = secretFromEnv(env, variable, problems)?.trim();
    if (providers.some((other) => other.id === provider.id)) problems.push(`OIDC_PROVIDERS: the id "${provider.id}" appears twice`);
    else if (!clientSecret) problems.push(`OIDC_PROVIDERS: ${variable} (or ${variable}_FILE) is required for the provider "${provider.id}"`);
    else if (raw.NODE_ENV === 'production' && !provider.issuer.startsWith('https:')) problems.push(`OIDC_PROVIDERS: the issuer of "${provider.id}" must be https in production`);
    else providers.push({ ...provider, issuer: provider.issuer, clientSecret });
  }
  return providers;
}

const ORIGIN_PATTERN = /^https?:\/\/(\*\.|[a-z0-9-]*\*[a-z0-9-]*\.)?[a-z0-9.-]+(:\d{1,5})?$/i;

export const CONSENT_DOCUMENT_NAMES = ['terms', 'privacy', 'health_data_processing'] as const;
export type ConsentDocumentName = (typeof CONSENT_DOCUMENT_NAMES)[number];
export interface ConsentDocument {
  document: ConsentDocumentName;
  version: string;
}

/** CONSENT_DOCUMENTS as documents with their current versions, each document once. */
function consentDocuments(raw: RawEnv, problems: string[]): ConsentDocument[] {
  const documents: ConsentDocument[] = [];
  for (const pair of parseList(raw.CONSENT_DOCUMENTS)) {
    const [document = '', version = '', ...rest] = pair.split(':');
    if (!(CONSENT_DOCUMENT_NAMES as readonly string[]).includes(document)) problems.push(`CONSENT_DOCUMENTS: "${document}" is not a document (${CONSENT_DOCUMENT_NAMES.join(', ')})`);
    else if (rest.length > 0 || !/^[A-Za-z0-9._-]{1,32}$/.test(version)) problems.push(`CONSENT_DOCUMENTS: the version of "${document}" must be 1-32 letters, digits, dots, dashes or underscores`);
    else if (documents.some((other) => other.document === document)) problems.push(`CONSENT_DOCUMENTS: "${document}" appears twice`);
    else documents.push({ document: document as ConsentDocumentName, version });
  }
  return documents;
}

/** MFA_REQUIRED_ROLES as roles; unset means admin and counselor in production, nobody elsewhere. */
function mfaRequiredRoles(raw: RawEnv, problems: string[]): Role[] {
  if (raw.MFA_REQUIRED_ROLES === undefined) return raw.NODE_ENV === 'production' ? ['admin', 'counselor'] : [];
  const listed = parseList(raw.MFA_REQUIRED_ROLES);
  for (const role of listed) if (!(ROLES as readonly string[]).includes(role)) problems.push(`MFA_REQUIRED_ROLES: "${role}" is not a role (${ROLES.join(', ')})`);
  return listed.filter((role): role is Role => (ROLES as readonly string[]).includes(role));
}

/**
 * Passkeys are bound to a relying-party id (a host name) and accepted from the origins the
 * SPA runs on: the exact CORS origins (patterns cannot be checked by WebAuthn) and APP_URL,
 * those whose host is the RP id or under it.
 */
function webauthnSettings(raw: RawEnv, origins: string[]) {
  const rpId = (raw.WEBAUTHN_RP_ID ?? new URL(raw.APP_URL).hostname).toLowerCase();
  const candidates = [...origins.filter((origin) => !origin.includes('*')), new URL(raw.APP_URL).origin];
  const allowed = candidates.filter((origin) => {
    const host = new URL(origin).hostname.toLowerCase();
    return host === rpId || host.endsWith(`.${rpId}`);
  });
  return { rpId, rpName: 'Confidant', origins: [...new Set(allowed)] };
}

function storageDriver(raw: RawEnv): 'local' | 's3' {
  return raw.STORAGE_DRIVER ?? (raw.S3_BUCKET ? 's3' : 'local');
}

function storageProblems(raw: RawEnv): string[] {
  if (storageDriver(raw) !== 's3') return [];
  const problems: string[] = [];
  if (!raw.S3_BUCKET) problems.push('STORAGE_DRIVER=s3 needs S3_BUCKET');
  if (Boolean(raw.S3_ACCESS_KEY_ID) !== Boolean(raw.S3_SECRET_ACCESS_KEY)) problems.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together (or neither, for the default credential chain)');
  if (raw.S3_SSE_KMS_KEY_ID && raw.S3_SSE !== 'aws:kms') problems.push('S3_SSE_KMS_KEY_ID needs S3_SSE=aws:kms');
  return problems;
}

function productionProblems(raw: RawEnv, origins: string[]): string[] {
  const problems: string[] = [];
  if (!raw.DATABASE_URL) problems.push('DATABASE_URL is required in production');
  if (origins.length === 0) problems.push('CORS_ORIGINS is required in production');
  for (const name of ['AUTH_SECRET', 'DATA_ENCRYPTION_KEY'] as const) {
    const value = raw[name];
    if (!value) problems.push(`${name} is required in production`);
    else if (Buffer.byteLength(value) < 32) problems.push(`${name} must be at least 32 bytes`);
    else if (PLACEHOLDER_SECRETS.includes(value.toLowerCase())) problems.push(`${name} is a placeholder value`);
  }
  if (raw.KEY_STORE_URL && raw.KEY_STORE_URL === raw.DATABASE_URL) {
    problems.push('KEY_STORE_URL must name another database than DATABASE_URL (or be left out for the same-database fallback)');
  }
  if (raw.AUTH_SECRET && raw.AUTH_SECRET === raw.DATA_ENCRYPTION_KEY) {
    problems.push('AUTH_SECRET and DATA_ENCRYPTION_KEY must differ');
  }
  if (storageDriver(raw) === 'local' && !raw.STORAGE_LOCAL_ALLOWED) {
    problems.push('file storage: set S3_BUCKET (a PaaS disk is ephemeral), or STORAGE_LOCAL_ALLOWED=true for a persistent volume');
  }
  return problems;
}

const orgRetentionMinDays = (raw: RawEnv) => raw.ORG_RETENTION_MIN_DAYS ?? raw.SESSION_DATA_RETENTION_DAYS;

/** An organization's retention lies between the two bounds; bounds that leave no room are a mistake. */
function orgRetentionProblems(raw: RawEnv): string[] {
  if (orgRetentionMinDays(raw) <= raw.ORG_RETENTION_MAX_DAYS) return [];
  const min = raw.ORG_RETENTION_MIN_DAYS === undefined ? 'SESSION_DATA_RETENTION_DAYS (ORG_RETENTION_MIN_DAYS is unset)' : 'ORG_RETENTION_MIN_DAYS';
  return [`ORG_RETENTION_MAX_DAYS must be at least ${min}`];
}

/** A session's absolute lifetime bounds its sliding one; a shorter absolute one is a mistake. */
function sessionLifetimeProblems(raw: RawEnv): string[] {
  const pairs = [
    ['SESSION_ABSOLUTE_TTL_DAYS', raw.SESSION_ABSOLUTE_TTL_DAYS, 'SESSION_TTL_DAYS', raw.SESSION_TTL_DAYS],
    ['REMEMBER_ME_ABSOLUTE_TTL_DAYS', raw.REMEMBER_ME_ABSOLUTE_TTL_DAYS, 'REMEMBER_ME_TTL_DAYS', raw.REMEMBER_ME_TTL_DAYS],
  ] as const;
  return pairs
    .filter(([, absolute, , sliding]) => absolute < sliding)
    .map(([absoluteName, , slidingName]) => `${absoluteName} must be at least ${slidingName}`);
}

/** What makes an environment look like a deployment rather than a laptop. */
function productionSignals(raw: RawEnv): { onRender: boolean; set: string[] } {
  const secret = raw.AUTH_SECRET ? 'AUTH_SECRET' : raw.DATA_ENCRYPTION_KEY ? 'DATA_ENCRYPTION_KEY' : undefined;
  const set = [raw.DATABASE_URL && 'DATABASE_URL', secret, raw.CORS_ORIGINS && 'CORS_ORIGINS'].filter((name): name is string => Boolean(name));
  return { onRender: raw.RENDER !== undefined, set };
}

function buildConfig(
  raw: RawEnv,
  origins: string[],
  secrets: { authSecret: string; dataEncryptionKey: string },
  nodeEnvExplicit: boolean,
  checked: { mfaRoles: Role[]; providers: OidcProviderConfig[]; consentDocuments: ConsentDocument[] },
) {
  const { mfaRoles, providers } = checked;
  const production = raw.NODE_ENV === 'production';
  const publicUrl = raw.PUBLIC_URL ?? raw.RENDER_EXTERNAL_URL ?? `http://localhost:${raw.PORT}`;
  return {
    env: raw.NODE_ENV,
    /** False when NODE_ENV was not set and `development` is only the default. */
    nodeEnvExplicit,
    isProduction: production,
    /** Exception messages and stacks in 5xx bodies: only when someone asked for development. */
    exposeDebug: raw.NODE_ENV === 'development' && nodeEnvExplicit,
    productionSignals: productionSignals(raw),
    isTest: raw.NODE_ENV === 'test',
    host: raw.HOST ?? (production ? '0.0.0.0' : '127.0.0.1'),
    port: raw.PORT,
    dataDir: raw.DATA_DIR,
    commit: raw.GIT_COMMIT ?? raw.RENDER_GIT_COMMIT ?? 'unknown',
    publicUrl: publicUrl.replace(/\/$/, ''),
    appUrl: raw.APP_URL.replace(/\/$/, ''),
    onRender: raw.RENDER !== undefined,
    database: { url: raw.DATABASE_URL, poolMax: raw.DB_POOL_MAX, readyTimeoutMs: raw.DB_READY_TIMEOUT_MS },
    /** Where the wrapped data keys live: KEY_STORE_URL, else the data database (PostgreSQL) or a second SQLite file. */
    keyStore: { url: raw.KEY_STORE_URL },
    redis: { url: raw.REDIS_URL, keyPrefix: raw.REDIS_KEY_PREFIX },
    corsOrigins: origins,
    trustProxy: raw.TRUST_PROXY,
    secrets: {
      ...secrets,
      previousDataEncryptionKeys: parseList(raw.DATA_ENCRYPTION_KEYS_PREVIOUS),
      monitoringToken: raw.MONITORING_TOKEN,
      metricsToken: raw.METRICS_TOKEN,
    },
    mail: { smtpUrl: raw.SMTP_URL, from: raw.MAIL_FROM },
    sentryDsn: raw.SENTRY_DSN,
    tracing: { otlpEndpoint: raw.OTEL_EXPORTER_OTLP_ENDPOINT },
    requireEmailVerification: raw.REQUIRE_EMAIL_VERIFICATION ?? production,
    rateLimits: {
      global: { max: raw.RATE_LIMIT_GLOBAL_MAX, windowS: raw.RATE_LIMIT_GLOBAL_WINDOW_S },
      write: { max: raw.RATE_LIMIT_WRITE_MAX, windowS: raw.RATE_LIMIT_WRITE_WINDOW_S },
      auth: { max: raw.RATE_LIMIT_AUTH_MAX, windowS: raw.RATE_LIMIT_AUTH_WINDOW_S },
    },
    tokens: {
      accessTtlS: raw.ACCESS_TOKEN_TTL_S,
      sessionTtlDays: raw.SESSION_TTL_DAYS,
      rememberMeTtlDays: raw.REMEMBER_ME_TTL_DAYS,
      sessionAbsoluteTtlDays: raw.SESSION_ABSOLUTE_TTL_DAYS,
      rememberMeAbsoluteTtlDays: raw.REMEMBER_ME_ABSOLUTE_TTL_DAYS,
      refreshReuseGraceS: raw.REFRESH_REUSE_GRACE_S,
      emailVerificationTtlH: raw.EMAIL_VERIFICATION_TTL_H,
      passwordResetTtlMin: raw.PASSWORD_RESET_TTL_MIN,
      invitationTtlDays: raw.INVITATION_TTL_DAYS,
    },
    breakGlassWindowMin: raw.BREAK_GLASS_WINDOW_MIN,
    mfa: { requiredRoles: mfaRoles },
    consent: { documents: checked.consentDocuments },
    webauthn: webauthnSettings(raw, origins),
    magicLinks: { signup: raw.MAGIC_LINK_SIGNUP, perAddressMax: raw.MAGIC_LINK_ADDRESS_MAX, perClientMax: raw.MAGIC_LINK_CLIENT_MAX },
    oidc: { providers, discoveryTimeoutS: raw.OIDC_DISCOVERY_TIMEOUT_S },
    passwordHashing: {
      // One pool thread stays free for the file, DNS and crypto work that shares it.
      concurrency: raw.PASSWORD_HASH_CONCURRENCY ?? Math.max(1, (raw.UV_THREADPOOL_SIZE ?? 4) - 1),
      queue: raw.PASSWORD_HASH_QUEUE,
    },
    bodyLimit: raw.BODY_LIMIT,
    server: {
      headersTimeoutMs: raw.HEADERS_TIMEOUT_S * 1000,
      requestTimeoutMs: raw.REQUEST_TIMEOUT_S * 1000,
      keepAliveTimeoutMs: raw.KEEP_ALIVE_TIMEOUT_S * 1000,
      shutdownTimeoutMs: raw.SHUTDOWN_TIMEOUT_S * 1000,
    },
    maxEntriesPerSession: raw.MAX_ENTRIES_PER_SESSION,
    live: {
      maxPerAddress: raw.LIVE_MAX_CONNECTIONS_PER_ADDRESS,
      maxPerUser: raw.LIVE_MAX_CONNECTIONS_PER_USER,
      messagesPerS: raw.LIVE_MESSAGES_PER_S,
      authTimeoutMs: raw.LIVE_AUTH_TIMEOUT_MS,
      heartbeatMs: raw.LIVE_HEARTBEAT_S * 1000,
    },
    storage: {
      driver: storageDriver(raw),
      localDir: join(raw.DATA_DIR, 'files'),
      s3: {
        bucket: raw.S3_BUCKET ?? '',
        region: raw.S3_REGION,
        endpoint: raw.S3_ENDPOINT,
        forcePathStyle: raw.S3_FORCE_PATH_STYLE,
        credentials: raw.S3_ACCESS_KEY_ID && raw.S3_SECRET_ACCESS_KEY ? { accessKeyId: raw.S3_ACCESS_KEY_ID, secretAccessKey: raw.S3_SECRET_ACCESS_KEY } : undefined,
        sse: raw.S3_SSE,
        kmsKeyId: raw.S3_SSE_KMS_KEY_ID,
      },
    },
    files: {
      attachmentMaxBytes: raw.FILE_ATTACHMENT_MAX_MB * 1_048_576,
      imageMaxBytes: raw.FILE_IMAGE_MAX_KB * 1024,
      quotaBytes: raw.FILE_QUOTA_MB * 1_048_576,
    },
    jobsIntervalMs: raw.JOBS_INTERVAL_S * 1000,
    retention: {
      sessionDataDays: raw.SESSION_DATA_RETENTION_DAYS,
      securityEventDays: raw.SECURITY_EVENT_RETENTION_DAYS,
      /** What an organization may set as its own retention of its sessions' data. */
      organizationDays: { min: orgRetentionMinDays(raw), max: raw.ORG_RETENTION_MAX_DAYS },
    },
    log: {
      level: raw.LOG_LEVEL ?? (raw.NODE_ENV === 'test' ? 'silent' : 'info'),
      format: raw.LOG_FORMAT ?? (production ? 'json' : 'dev'),
    },
  } as const;
}

export type Config = ReturnType<typeof buildConfig>;

/**
 * The only reader of the environment. Throws a ConfigError whose message names
 * every variable that is missing or invalid, on one line.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(withSecretFiles(env));
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const raw = parsed.data;
  const origins = parseList(raw.CORS_ORIGINS ?? (raw.NODE_ENV === 'production' ? undefined : 'http://localhost:5173'));
  const problems = origins
    .filter((origin) => !ORIGIN_PATTERN.test(origin))
    .map((origin) => `CORS_ORIGINS: "${origin}" is not an origin such as https://app.example.com`);
  problems.push(...sessionLifetimeProblems(raw), ...storageProblems(raw), ...orgRetentionProblems(raw));
  const mfaRoles = mfaRequiredRoles(raw, problems);
  const providers = oidcProviders(env, raw, problems);
  const consentDocs = consentDocuments(raw, problems);
  if (raw.NODE_ENV === 'production') problems.push(...productionProblems(raw, origins));
  if (problems.length > 0) throw new ConfigError(problems);

  const secrets = resolveDevSecrets(raw.NODE_ENV, raw.DATA_DIR, {
    authSecret: raw.AUTH_SECRET,
    dataEncryptionKey: raw.DATA_ENCRYPTION_KEY,
  });
  return Object.freeze(buildConfig(raw, origins, secrets, Boolean(env.NODE_ENV), { mfaRoles, providers, consentDocuments: consentDocs }));
}

/**
 * Outside production the service migrates on start, sends no HSTS, skips the production
 * checks of secrets and origins, and sets plain cookies. A deployment that forgot
 * NODE_ENV=production must not run like that silently: this names the signs (on Render,
 * or two of a PostgreSQL URL, a secret and CORS origins) for a loud warning at start.
 */
export function productionLookalikeWarning(config: Config): string | undefined {
  const { onRender, set } = config.productionSignals;
  if (config.isProduction || (!onRender && set.length < 2)) return undefined;
  const signs = [...(onRender ? ['RENDER'] : []), ...set].join(', ');
  const mode = config.nodeEnvExplicit ? `NODE_ENV=${config.env}` : 'NODE_ENV is not set, so it defaults to development';
  return (
    `${mode}, but the configuration looks like production (${signs} set): the service migrates on start, sends no HSTS, ` +
    'skips the production checks of secrets and origins and sets cookies without Secure. Set NODE_ENV=production for a deployment.'
  );
}

/** `.env` is a development convenience; production and tests take the environment as given. */
export function loadDotEnv(path = '.env'): void {
  const env = process.env.NODE_ENV ?? 'development';
  if (env !== 'development' || !existsSync(path)) return;
  process.loadEnvFile(path);
}
