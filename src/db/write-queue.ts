import { TimeoutError, type Sequelize } from 'sequelize';

const WAIT_LIMIT_MS = 10_000;

/**
 * SQLite has one writer at a time, and node-sqlite3 waits for its lock on libuv's few
 * worker threads: a handful of writers waiting can leave the lock holder no thread to
 * COMMIT on, until the waiters time out. So on SQLite every transaction, and every write
 * outside one, takes its turn in this process-wide queue; reads (WAL) never wait. A write
 * issued inside a transaction's callback without `{ transaction }` would wait for its own
 * transaction: the queue gives up after 10 s with a TimeoutError (a 503), never hangs.
 */
export function queueSqliteWrites(sequelize: Sequelize): void {
  let tail: Promise<unknown> = Promise.resolve();

  function inTurn<T>(task: () => Promise<T>): Promise<T> {
    const turn = tail.then(() => undefined, () => undefined);
    const run = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(Object.assign(new Error('SQLITE_BUSY: waited too long for the write queue'), { sql: '' }))), WAIT_LIMIT_MS);
      turn.then(() => {
        clearTimeout(timer);
        task().then(resolve, reject);
      });
    });
    tail = run.catch(() => undefined);
    return run;
  }

  const transaction = sequelize.transaction.bind(sequelize) as (...args: unknown[]) => Promise<unknown>;
  const query = sequelize.query.bind(sequelize) as (...args: unknown[]) => Promise<unknown>;
  Object.assign(sequelize, {
    transaction(...args: unknown[]) {
      if (typeof args[args.length - 1] !== 'function') throw new Error('SQLite: use managed transactions (with a callback)');
      return inTurn(() => transaction(...args));
    },
    query(sql: unknown, options?: { transaction?: unknown; type?: string }) {
      const text = typeof sql === 'string' ? sql : ((sql as { query?: string })?.query ?? '');
      const read = options?.type === 'SELECT' || /^\s*(SELECT|PRAGMA|WITH)\b/i.test(text);
      if (options?.transaction || read) return query(sql, options);
      return inTurn(() => query(sql, options));
    },
  });
}
