import type { Router } from 'express';
import type { Sequelize } from 'sequelize';
import type { Config } from './config/env.js';
import { ContentCipher } from './crypto/content-cipher.js';
import { DataCipher } from './crypto/data-cipher.js';
import { DataKeys } from './crypto/data-keys.js';
import { KeyStore } from './db/key-store.js';
import { PasswordHasher } from './crypto/passwords.js';
import { ErrorHandler } from './errors/error-handler.js';
import { JobLocks, newHolderId } from './infra/job-locks.js';
import { Lifecycle } from './infra/lifecycle.js';
import { createLogger, type AppLogger, type Logger } from './infra/logger.js';
import { createMailer, type Mailer } from './infra/mailer.js';
import { createMetrics, type Metrics } from './infra/metrics.js';
import { SharedState } from './infra/shared-state.js';
import { defineModels, type Models } from './models/index.js';
import type { ObjectStorage } from './modules/files/index.js';

export interface AppDeps {
  config: Config;
  sequelize: Sequelize;
  /** The process's log output (the server passes the one it started with); built from config otherwise. */
  logs?: AppLogger;
  /** What the app logs through, the access line included; `logs` by default (tests hand in a capturing logger). */
  logger?: Logger;
  lifecycle?: Lifecycle;
  errorHandler?: ErrorHandler;
  mailer?: Mailer;
  /** How long a login session's state is trusted before it is read again. */
  sessionRecheckMs?: number;
  /** File storage in place of the configured adapter (tests hand in one that fails). */
  storage?: ObjectStorage;
  /** Mounted just before the 404: tests and tools add diagnostic routes here. */
  extraRoutes?: (router: Router) => void;
}

/**
 * The infrastructure every module is built from, and nothing else: no business rules here.
 * Modules take the parts they need (`Pick<Infra, ...>`).
 */
export interface Infra {
  config: Config;
  sequelize: Sequelize;
  models: Models;
  /** The pino output behind the logger, flushed by drain(). */
  logs: AppLogger;
  logger: Logger;
  lifecycle: Lifecycle;
  errorHandler: ErrorHandler;
  /** Field encryption under one key derived from DATA_ENCRYPTION_KEY: authenticator-app secrets, and counseling text from before per-person keys. */
  cipher: DataCipher;
  /** Where the wrapped per-person data keys live (KEY_STORE_URL, a second SQLite file, or the fallback in the data database). */
  keyStore: KeyStore;
  /** Counseling content under the data key of the session's client (envelope encryption, crypto-shredding). */
  content: ContentCipher;
  /** argon2id with a bound on concurrent work (503 BUSY beyond it). */
  passwords: PasswordHasher;
  /** Redis, when REDIS_URL is set: state shared by instances. */
  shared?: SharedState;
  mailer: Mailer;
  /** Cross-instance locks for jobs and the audit chain. */
  locks: JobLocks;
  /** This app's Prometheus registry and the instruments the pipeline feeds. */
  metrics: Metrics;
  sessionRecheckMs: number;
}

export function createInfra(deps: AppDeps): Infra {
  const { config, sequelize } = deps;
  const logs = deps.logs ?? createLogger(config.log);
  const logger = deps.logger ?? logs;
  const models = defineModels(sequelize);
  const cipher = new DataCipher(config.secrets.dataEncryptionKey, config.secrets.previousDataEncryptionKeys);
  const keyStore = new KeyStore(config, sequelize);
  return {
    config,
    sequelize,
    models,
    logs,
    logger,
    lifecycle: deps.lifecycle ?? new Lifecycle('ready'),
    errorHandler: deps.errorHandler ?? new ErrorHandler(logger, { exposeDebug: config.exposeDebug }),
    cipher,
    keyStore,
    content: new ContentCipher(new DataKeys(keyStore, config.secrets.dataEncryptionKey, config.secrets.previousDataEncryptionKeys), cipher),
    passwords: new PasswordHasher(config.passwordHashing),
    shared: config.redis.url ? new SharedState(config.redis.url, config.redis.keyPrefix, logger) : undefined,
    mailer: deps.mailer ?? createMailer(config, logger),
    locks: new JobLocks(models, newHolderId()),
    metrics: createMetrics(),
    sessionRecheckMs: deps.sessionRecheckMs ?? 60_000,
  };
}
