import { ConnectionError, TimeoutError, ValidationError, type Sequelize } from 'sequelize';
import type { QueryErrorKind } from '../infra/metrics.js';

export type QueryFailureListener = (kind: QueryErrorKind) => void;

const listeners = new WeakMap<Sequelize, Set<QueryFailureListener>>();

function kindOf(error: unknown): QueryErrorKind {
  if (error instanceof TimeoutError) return 'timeout';
  if (error instanceof ConnectionError) return 'connection';
  if (error instanceof ValidationError) return 'constraint'; // unique and foreign-key violations included
  return 'other';
}

/**
 * Every query of this Sequelize goes through one wrapper (models call `sequelize.query`
 * too), which tells the listeners about each failure. Installed once per instance, by
 * createSequelize; apps subscribe with `onQueryFailure`.
 */
export function observeQueries(sequelize: Sequelize): void {
  if (listeners.has(sequelize)) return;
  const subscribed = new Set<QueryFailureListener>();
  listeners.set(sequelize, subscribed);
  const query = sequelize.query.bind(sequelize) as (...args: unknown[]) => Promise<unknown>;
  Object.assign(sequelize, {
    async query(...args: unknown[]) {
      try {
        return await query(...args);
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
