import { createServer, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import type { Sequelize } from 'sequelize';
import { createApp } from './app.js';
import { ConfigError, loadConfig, loadDotEnv, type Config } from './config/env.js';
import { createSequelize, dialectOf, waitForDatabase } from './db/database.js';
import { migrate, schemaStatus } from './db/migrator.js';
import { ErrorHandler } from './errors/error-handler.js';
import { retentionJobs } from './jobs/retention-jobs.js';
import { scheduleRetentionJobs } from './jobs/scheduler.js';
import { Lifecycle } from './infra/lifecycle.js';
import { processLogSink } from './infra/log-sink.js';
import { createLogger, type Logger } from './infra/logger.js';
import { startTracing } from './infra/tracing.js';
import { flushSentry, initSentry } from './errors/sentry.js';

/** A start that cannot succeed: one line that says what to change, exit status 1, no stack. */
class StartError extends Error {}

function startFailed(error: unknown): never {
  const message = error instanceof StartError || error instanceof ConfigError ? error.message : `start-up failed: ${describeOneLine(error)}`;
  processLogSink().write('err', `${message}\n`);
  process.exit(1);
}

function describeOneLine(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return `${error.name}: ${error.message}`.replace(/\s*\n\s*/g, ' ');
}

function readConfig(): Config {
  loadDotEnv();
  return loadConfig();
}

/**
 * Node checks headersTimeout and requestTimeout only every connectionsCheckingInterval
 * (30 s by default), so a 10 s headers limit could let a slow client hold a socket for 40 s.
 */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/** Slow or silent clients cannot hold sockets: headers in 10 s, the whole request in 30 s. */
function applyTimeouts(server: Server, config: Config): void {
  server.headersTimeout = config.server.headersTimeoutMs;
  server.requestTimeout = config.server.requestTimeoutMs;
  // Above the load balancer's idle timeout, so the balancer closes idle connections first.
  server.keepAliveTimeout = config.server.keepAliveTimeoutMs;
}

const SCHEMA_RECHECK_MS = 5_000;

/**
 * Production migrates as a deploy step, never on boot. Started before `npm run db:migrate`,
 * it says so once, reports the pending migrations in /health/ready, and becomes ready as
 * soon as the schema is current (no restart needed).
 */
async function waitForSchema(sequelize: Sequelize, lifecycle: Lifecycle, logger: Logger, signal: AbortSignal): Promise<void> {
  let said = false;
  for (;;) {
    const { missing, pending } = await schemaStatus(sequelize);
    lifecycle.pendingMigrations = pending;
    if (pending.length === 0) {
      if (said) logger.warn('database schema is current now; starting');
      return;
    }
    if (!said) {
      const state = missing ? 'missing (no migration applied)' : `behind (${pending.length} migrations pending, first ${pending[0]})`;
      logger.error(`database schema is ${state}: run \`npm run db:migrate\`; waiting for it`);
      said = true;
    }
    await sleep(SCHEMA_RECHECK_MS, undefined, { signal });
  }
}

async function prepareDatabase(sequelize: Sequelize, config: Config, lifecycle: Lifecycle, logger: Logger, signal: AbortSignal): Promise<void> {
  await waitForDatabase(sequelize, logger, { signal });
  if (config.isProduction) return waitForSchema(sequelize, lifecycle, logger, signal);
  const applied = await migrate(sequelize);
  if (applied.length > 0) logger.info('migrations applied', { migrations: applied });
}

/**
 * close() drops idle keep-alive sockets only once; a socket whose request was in flight
 * would then stay open until the force timeout. Later responses say `Connection: close`,
 * and sockets are dropped as soon as their last response has gone out.
 */
function releaseKeepAlive(server: Server): () => void {
  server.prependListener('request', (_req, res: ServerResponse) => res.setHeader('Connection', 'close'));
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  return () => clearInterval(sweep);
}

/** What to change when the port cannot be had, named by its variables. */
function listenFailure(error: NodeJS.ErrnoException, config: Config): StartError {
  const where = `${config.host}:${config.port}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return new StartError(`cannot listen on ${where}: the port is in use by another process; stop it or set PORT to a free port`);
    case 'EACCES':
      return new StartError(`cannot listen on ${where}: permission denied; ports below 1024 need privileges, set PORT to 1024 or above`);
    case 'EADDRNOTAVAIL':
      return new StartError(`cannot listen on ${where}: ${config.host} is not an address of this machine; set HOST`);
    default:
      return new StartError(`cannot listen on ${where}: ${error.code ?? error.message}`);
  }
}

function listen(server: Server, config: Config): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) => reject(listenFailure(error, config));
    server.once('error', fail);
    server.listen(config.port, config.host, () => {
      server.off('error', fail);
      resolve();
    });
  });
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger(config.log);
  const stopTracing = await startTracing(config.tracing.otlpEndpoint, logger);
  const sequelize = createSequelize(config);
  const lifecycle = new Lifecycle('starting');
  const errorHandler = new ErrorHandler(logger, { exposeDebug: config.exposeDebug });
  const { app, infra, modules, drain } = createApp({ config, sequelize, logs: logger, lifecycle, errorHandler });
  const reportToSentry = initSentry(config, logger);
  if (reportToSentry) errorHandler.addReporter(reportToSentry);
  const server = createServer({ connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS }, app);
  server.on('upgrade', modules.live.upgrade); // the live channel (WebSocket) on the same port
  applyTimeouts(server, config);
  const startup = new AbortController();
  let stopJobs = () => undefined as void;

  async function shutdown(signal: string): Promise<void> {
    if (lifecycle.phase === 'stopping') return;
    lifecycle.phase = 'stopping';
    startup.abort();
    stopJobs();
    logger.info('shutting down: no new connections, finishing requests in flight', { signal });
    const force = setTimeout(() => server.closeAllConnections(), config.server.shutdownTimeoutMs);
    force.unref();
    const stopKeepAlive = releaseKeepAlive(server);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await modules.live.close(); // upgraded sockets keep the server open until they close: 1001 after their entries are stored
    await closed;
    stopKeepAlive();
    clearTimeout(force);
    await drain();
    await stopTracing();
    await flushSentry(2_000);
    const dropped = processLogSink().dropped;
    logger.info('stopped', dropped > 0 ? { droppedLogLines: dropped } : {});
    process.exit(0);
  }

  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('unhandledRejection', (reason) => errorHandler.handleProcessError(reason, 'unhandledRejection'));
  process.on('uncaughtException', (error) => {
    errorHandler.handleProcessError(error, 'uncaughtException');
    // A clean process beats one in an unknown state; the report gets 2 s to leave first.
    void flushSentry(2_000).finally(() => process.exit(1));
  });

  await listen(server, config);
  const where = config.database.url ? 'PostgreSQL' : `SQLite (${config.dataDir})`;
  const { port } = server.address() as AddressInfo;
  logger.info(`Confidant API listening on http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`, {
    env: config.env,
    database: where,
  });

  try {
    await prepareDatabase(sequelize, config, lifecycle, logger, startup.signal);
    await infra.keyStore.migrate().catch((error: unknown) => {
      throw new StartError(`the key store (${infra.keyStore.location}) cannot be prepared: ${describeOneLine(error)}; run \`npm run keys:migrate-store\` with a role that may create its table`);
    });
    await modules.auth.keys.jwks(); // generates the first signing key on a new database
  } catch (error) {
    if (startup.signal.aborted) return;
    throw error;
  }
  lifecycle.phase = 'ready';
  stopJobs = scheduleRetentionJobs({ jobs: retentionJobs(infra, modules), locks: infra.locks, logger }, config.jobsIntervalMs);
  modules.privacy.exports.kick(); // export archives a previous run left queued
  modules.securityEvents.auditChain.schedule(0); // events of other instances, or of a previous run, are sealed too
  logger.info('ready', { dialect: dialectOf(sequelize) });
}

main().catch(startFailed);
