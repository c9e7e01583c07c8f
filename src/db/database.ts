import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Sequelize, Transaction, type Options } from 'sequelize';
import { ConfigError, type Config } from '../config/env.js';
import type { Logger } from '../infra/logger.js';
import { observeQueries } from './query-observer.js';
import { queueSqliteWrites } from './write-queue.js';
import { describeError } from '../infra/logger.js';

export type Dialect = 'postgres' | 'sqlite';

export function sqliteFile(dataDir: string, file = 'confidant.sqlite'): string {
  return join(dataDir, file);
}

/**
 * sqlite3 is an optional dependency: `npm install` brings it for the embedded database,
 * production installs leave it out (production runs on PostgreSQL), so it is loaded only
 * when SQLite is actually used, and its absence is a one-line start failure.
 */
function loadSqliteDriver(): object {
  try {
    return createRequire(import.meta.url)('sqlite3') as object;
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new ConfigError([
      `DATABASE_URL is not set, and the embedded SQLite database needs the optional sqlite3 package, which did not load (${reason}); ` +
        'set DATABASE_URL to a PostgreSQL database, or install the driver with `npm install sqlite3`',
    ]);
  }
}

interface SqliteConnection {
  configure(option: 'busyTimeout', milliseconds: number): void;
  exec(sql: string, callback: (error: Error | null) => void): void;
}

/**
 * Concurrent writers wait for SQLite's lock (up to 5 s) instead of failing at once with
 * SQLITE_BUSY, and the file uses WAL, where readers never block the writer (with the
 * default rollback journal an autocommit writer holding a read lock and a committing
 * transaction wait for each other). Sequelize's SQLite dialect opens connections without
 * running the afterConnect hooks, so this is applied as connections are handed out.
 */
function waitForLocks(sequelize: Sequelize): void {
  const manager = sequelize.connectionManager as unknown as { getConnection(options?: unknown): Promise<SqliteConnection> };
  const getConnection = manager.getConnection.bind(manager);
  const configured = new WeakSet<SqliteConnection>();
  manager.getConnection = async (options) => {
    const connection = await getConnection(options);
    if (!configured.has(connection)) {
      connection.configure('busyTimeout', 5_000);
      await new Promise<void>((resolve, reject) => connection.exec('PRAGMA journal_mode = WAL', (error) => (error ? reject(error) : resolve())));
      configured.add(connection);
    }
    return connection;
  };
}

/**
 * The Sequelize instance from config: PostgreSQL when DATABASE_URL is set, otherwise
 * an embedded SQLite file under DATA_DIR. Pool waits are bounded so a database outage
 * becomes a quick 503 rather than a hung request.
 */
export function createSequelize(config: Pick<Config, 'database' | 'dataDir'>, logging: Options['logging'] = false, sqliteFileName?: string): Sequelize {
  const common: Options = {
    logging,
    define: { underscored: true, timestamps: true },
    pool: { max: config.database.poolMax, min: 0, acquire: 5_000, idle: 10_000 },
    retry: { max: 0 },
  };
  if (config.database.url) {
    const sequelize = new Sequelize(config.database.url, {
      ...common,
      dialect: 'postgres',
      dialectOptions: { connectionTimeoutMillis: 3_000, application_name: 'confidant' },
    });
    observeQueries(sequelize);
    return sequelize;
  }
  // IMMEDIATE: a transaction takes the write lock when it begins, so one that reads before it
  // writes waits its turn (busy_timeout) instead of failing with SQLITE_BUSY on the upgrade.
  const sequelize = new Sequelize({
    ...common,
    dialect: 'sqlite',
    dialectModule: loadSqliteDriver(),
    storage: sqliteFile(config.dataDir, sqliteFileName),
    transactionType: Transaction.TYPES.IMMEDIATE,
  });
  waitForLocks(sequelize);
  queueSqliteWrites(sequelize);
  observeQueries(sequelize);
  return sequelize;
}

export function dialectOf(sequelize: Sequelize): Dialect {
  return sequelize.getDialect() === 'postgres' ? 'postgres' : 'sqlite';
}

/** A real round trip to the database, abandoned after `timeoutMs`. */
export async function pingDatabase(sequelize: Sequelize, timeoutMs: number): Promise<void> {
  const controller = new AbortController();
  const timeout = sleep(timeoutMs, undefined, { signal: controller.signal }).then(() => {
    throw new Error(`database did not answer within ${timeoutMs} ms`);
  });
  try {
    await Promise.race([sequelize.query('SELECT 1'), timeout]);
  } finally {
    controller.abort();
    timeout.catch(() => undefined);
  }
}

/**
 * Keeps trying until the database answers, with exponential backoff capped at 30 s.
 * The server is already listening meanwhile: /health answers, /health/ready says 503.
 */
export async function waitForDatabase(
  sequelize: Sequelize,
  logger: Logger,
  options: { signal?: AbortSignal; initialDelayMs?: number; maxDelayMs?: number } = {},
): Promise<void> {
  let delay = options.initialDelayMs ?? 500;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await sequelize.authenticate({ logging: false });
      if (attempt > 1) logger.info('database reachable', { attempt });
      return;
    } catch (error) {
      if (options.signal?.aborted) throw error;
      logger.warn('database unreachable, retrying', { attempt, retryInMs: delay, ...describeError(error), stack: undefined });
      await sleep(delay, undefined, { signal: options.signal });
      delay = Math.min(delay * 2, options.maxDelayMs ?? 30_000);
    }
  }
}

interface PoolCounts {
  size: number;
  using: number;
  waiting: number;
  maxSize: number;
}

/** PostgreSQL's connection pool, for the metrics; SQLite keeps one connection and no pool. */
export function poolCounts(sequelize: Sequelize): PoolCounts | undefined {
  if (dialectOf(sequelize) !== 'postgres') return undefined;
  return (sequelize.connectionManager as unknown as { pool?: PoolCounts }).pool;
}
