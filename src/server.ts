import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Sequelize } from 'sequelize';
import { createApp } from './app.js';
import { ConfigError, loadConfig, loadDotEnv, type Config } from './config/env.js';
import { createSequelize, dialectOf, waitForDatabase } from './db/database.js';
import { migrate } from './db/migrator.js';
import { ErrorHandler } from './errors/error-handler.js';
import { scheduleRetentionJobs } from './jobs/scheduler.js';
import { Lifecycle } from './lib/lifecycle.js';
import { createLogger, describeError, type Logger } from './lib/logger.js';
import { flushSentry, initSentry } from './lib/sentry.js';

/** A configuration this process cannot run with ends the start: one line on stderr, exit status 1. */
function exitOnConfigError<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

function readConfig(): Config {
  return exitOnConfigError(() => {
    loadDotEnv();
    return loadConfig();
  });
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

async function prepareDatabase(sequelize: Sequelize, config: Config, logger: Logger, signal: AbortSignal): Promise<void> {
  await waitForDatabase(sequelize, logger, { signal });
  if (config.isProduction) return; // production migrates as a deploy step, never on boot
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

function listen(server: Server, config: Config): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger(config.log);
  const sequelize = exitOnConfigError(() => createSequelize(config));
  const lifecycle = new Lifecycle('starting');
  const errorHandler = new ErrorHandler(logger, { exposeDebug: config.env === 'development' });
  const { app, context } = createApp({ config, sequelize, logger, lifecycle, errorHandler });
  const reportToSentry = initSentry(config, logger);
  if (reportToSentry) errorHandler.addReporter(reportToSentry);
  const server = createServer({ connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS }, app);
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
    await new Promise<void>((resolve) => server.close(() => resolve()));
    stopKeepAlive();
    clearTimeout(force);
    await context.background.idle();
    await context.mailer.idle();
    await context.events.flush();
    await context.auditChain.sealPending().catch((error: unknown) => logger.warn('sealing on shutdown failed', describeError(error)));
    await context.auditChain.stop();
    await context.shared?.close();
    await sequelize.close().catch((error: unknown) => logger.warn('closing the database failed', describeError(error)));
    await flushSentry(2_000);
    logger.info('stopped');
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
    await prepareDatabase(sequelize, config, logger, startup.signal);
    await context.keys.jwks(); // generates the first signing key on a new database
    lifecycle.phase = 'ready';
    stopJobs = scheduleRetentionJobs(context, config.jobsIntervalMs);
    context.auditChain.schedule(0); // events of other instances, or of a previous run, are sealed too
    logger.info('ready', { dialect: dialectOf(sequelize) });
  } catch (error) {
    if (startup.signal.aborted) return;
    logger.error('start-up failed', describeError(error));
    process.exit(1);
  }
}

void main();
