import { ConnectionError, TimeoutError, ValidationError, type Sequelize } from 'sequelize';
import type { QueryErrorKind } from '../infra/metrics.js';
import { inSpan, SpanKind } from '../infra/tracing.js';

export type QueryFailureListener = (kind: QueryErrorKind) => void;

const listeners = new WeakMap<Sequelize, Set<QueryFailureListener>>();

function kindOf(error: unknown): QueryErrorKind {
  if (error instanceof TimeoutError) return 'timeout';
  if (error instanceof ConnectionError) return 'connection';
  if (error instanceof ValidationError) return 'constraint'; // unique and foreign-key violations included
  return 'other';
}

/** The statement's first keyword (SELECT, INSERT...): never its text, which can hold values. */
function operationOf(sql: unknown): string {
  const text = typeof sql === 'string' ? sql : ((sql as { query?: string } | undefined)?.query ?? '');
  return /^\s*([A-Za-z]+)/.exec(text)?.[1]?.toUpperCase() ?? 'QUERY';
}

/**
 * Every query of this Sequelize goes through one wrapper (models call `sequelize.query`
 * too): a client span around it (no-op without an OpenTelemetry SDK), and each failure told
 * to the listeners. Installed once per instance, by createSequelize; apps subscribe with
 * `onQueryFailure`.
 */
export function observeQueries(sequelize: Sequelize): void {
  if (listeners.has(sequelize)) return;
  const subscribed = new Set<QueryFailureListener>();
  listeners.set(sequelize, subscribed);
  const query = sequelize.query.bind(sequelize) as (...args: unknown[]) => Promise<unknown>;
  const system = sequelize.getDialect() === 'postgres' ? 'postgresql' : 'sqlite';
  Object.assign(sequelize, {
    async query(...args: unknown[]) {
      const operation = operationOf(args[0]);
      try {
        return await inSpan(`db ${operation}`, { 'db.system': system, 'db.operation.name': operation }, SpanKind.CLIENT, () => query(...args));
      } catch (error) {
        const kind = kindOf(error);
        for (const listener of subscribed) listener(kind);
        throw error;
      }
    },
  });
}

/** Hears of every failed query of `sequelize`; returns the unsubscribe. */
export function onQueryFailure(sequelize: Sequelize, listener: QueryFailureListener): () => void {
  observeQueries(sequelize);
  const subscribed = listeners.get(sequelize)!;
  subscribed.add(listener);
  return () => subscribed.delete(listener);
}
