import type { Sequelize } from 'sequelize';
import { pingDatabase } from '../../db/database.js';
import { SAME_DATABASE_WARNING, type KeyStore } from '../../db/key-store.js';
import type { Lifecycle } from '../../infra/lifecycle.js';
import type { Logger } from '../../infra/logger.js';
import type { ProxyTrustCheck } from '../../http/proxy-trust.js';
import type { SharedState } from '../../infra/shared-state.js';
import { StateChanges } from '../../infra/state-changes.js';
import { version } from '../../infra/version.js';

export interface CheckResult {
  status: 'up' | 'down';
  latencyMs?: number;
  error?: string;
}

export interface HealthDeps {
  sequelize: Sequelize;
  /** Redis, when configured: its loss degrades the service (in-process fallbacks) but does not stop it. */
  shared?: SharedState;
  lifecycle: Lifecycle;
  /** The wrapped data keys: without them no counseling content can be written or read. */
  keyStore: KeyStore;
  proxyTrust: ProxyTrustCheck;
  /** File storage (the bucket): its loss degrades the service (no uploads or downloads) but does not stop it. */
  storage?: () => Promise<void>;
  commit: string;
  dbTimeoutMs: number;
  logger: Logger;
}

async function timed(check: () => Promise<void>): Promise<CheckResult> {
  const started = performance.now();
  try {
    await check();
    return { status: 'up', latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    // Only the kind of failure: a connection string or host name must not leak to probes.
    return { status: 'down', latencyMs: Math.round(performance.now() - started), error: (error as Error).name };
  }
}

export function createHealthService(deps: HealthDeps) {
  const changes = new StateChanges(deps.logger, 'readiness');
  return {
    liveness() {
      return { status: 'ok' as const, uptime: Math.round(process.uptime()), version, commit: deps.commit };
    },

    async readiness() {
      const [database, redis, storage, keys] = await Promise.all([
        timed(() => pingDatabase(deps.sequelize, deps.dbTimeoutMs)),
        deps.shared ? timed(() => deps.shared!.ping(deps.dbTimeoutMs)) : undefined,
        deps.storage ? timed(deps.storage) : undefined,
        deps.keyStore.sharesDataBackups ? undefined : timed(() => pingDatabase(deps.keyStore.sequelize, deps.dbTimeoutMs)),
      ]);
      // In the data database (the fallback) the key store is up exactly when the database is.
      const keyStore = {
        ...(keys ?? database),
        location: deps.keyStore.location,
        ...(deps.keyStore.sharesDataBackups && { warning: SAME_DATABASE_WARNING }),
      };
      if (keys) changes.observe('key store', keys.status === 'up', keys.error);
      changes.observe('database', database.status === 'up', database.error);
      if (redis) changes.observe('redis', redis.status === 'up', redis.error);
      if (storage) changes.observe('storage', storage.status === 'up', storage.error);
      const pending = deps.lifecycle.pendingMigrations;
      const schema = pending.length > 0 ? { status: 'down' as const, pendingMigrations: pending, fix: 'npm run db:migrate' } : undefined;
      const ready = deps.lifecycle.accepting && database.status === 'up' && keyStore.status === 'up';
      return {
        ready,
        status: !ready ? ('unavailable' as const) : redis?.status === 'down' || storage?.status === 'down' ? ('degraded' as const) : ('ready' as const),
        phase: deps.lifecycle.phase,
        checks: { database, keyStore, ...(redis && { redis }), ...(storage && { storage }), ...(schema && { schema }) },
        proxyTrust: deps.proxyTrust.report(),
      };
    },
  };
}

export type HealthService = ReturnType<typeof createHealthService>;
