import type { Infra } from '../../context.js';
import { poolCounts } from '../../db/database.js';
import { SECURITY_EVENT_TYPES } from '../../models/security-event.model.js';
import type { HealthModule } from '../health/index.js';
import { REFUSAL_REASONS, type LiveModule } from '../live/index.js';
import type { SecurityEventsModule } from '../security-events/index.js';
import { metricsRoutes } from './metrics.routes.js';

const LOGIN_FAILURE_WINDOW_MS = 5 * 60_000;

/** Rejects when `task` takes longer than `ms`: a scrape must not hang on a database that does not answer. */
function within<T>(ms: number, task: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([task(), timeout]).finally(() => clearTimeout(timer));
}

/** One reading for the gauges of one scrape (collected together): callers while it runs share it. */
function sharedReading<T>(read: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    running ??= read().finally(() => (running = undefined));
    return running;
  };
}

/**
 * `/metrics` and the readings only the modules can give: security-event counts by type
 * (observed as they are recorded, so no module counts anything itself), the worst single
 * address's failed logins, the audit sealing lag and readiness. Owns no table.
 */
export function createMetricsModule(
  infra: Pick<Infra, 'metrics' | 'sequelize' | 'shared' | 'config'>,
  deps: {
    securityEvents: Pick<SecurityEventsModule, 'recorder' | 'auditChain' | 'busiestFailedLoginSource'>;
    health: Pick<HealthModule, 'readiness'>;
    live: Pick<LiveModule, 'stats'>;
  },
) {
  const { metrics, sequelize, shared } = infra;
  const timeoutMs = infra.config.database.readyTimeoutMs;

  const countEvent = metrics.counter('confidant_security_events_total', 'Security events recorded, by type (login_success, login_failure, token_validation_failure, token_reuse_detected, rate_limited, ...)', 'type', SECURITY_EVENT_TYPES);
  deps.securityEvents.recorder.onRecord(countEvent);

  metrics.gauge('confidant_login_failures_busiest_address', 'Failed logins in the last 5 minutes from the one client address with the most; the address itself is never exported', () =>
    within(timeoutMs, () => deps.securityEvents.busiestFailedLoginSource(new Date(Date.now() - LOGIN_FAILURE_WINDOW_MS))),
  );
  const sealing = sharedReading(() => within(timeoutMs, () => deps.securityEvents.auditChain.unsealed()));
  metrics.gauge('confidant_audit_unsealed_events', 'Security events written but not yet sealed into the audit chain', async () => (await sealing()).count);
  metrics.gauge('confidant_audit_unsealed_oldest_seconds', 'Age of the oldest security event not yet sealed into the audit chain (0 when all are sealed)', async () => (await sealing()).oldestAgeS);
  metrics.gauge('confidant_ready', '1 when this instance is ready to serve (what /health/ready says), else 0', async () => ((await deps.health.readiness()).ready ? 1 : 0));

  metrics.gauge('confidant_live_connections_open', 'Open sockets of the live channel on this instance (authenticated or not yet)', () => deps.live.stats.open());
  const countLiveMessage = metrics.counter('confidant_live_messages_total', 'Frames of the live channel, by direction (in: received, out: sent)', 'direction', ['in', 'out']);
  const countLiveRefusal = metrics.counter('confidant_live_refusals_total', 'Live-channel connections refused or closed for a reason of policy, by reason', 'reason', REFUSAL_REASONS);
  deps.live.stats.observe((event) => {
    if (event === 'message_in') countLiveMessage('in');
    else if (event === 'message_out') countLiveMessage('out');
    else countLiveRefusal(event.slice('refused:'.length));
  });

  if (shared) metrics.gauge('confidant_redis_up', '1 while the Redis connection is ready, else 0', () => (shared.ready ? 1 : 0));
  if (poolCounts(sequelize)) {
    metrics.gauge('confidant_db_pool_connections_in_use', 'Database connections handed out of the pool', () => poolCounts(sequelize)?.using ?? 0);
    metrics.gauge('confidant_db_pool_waiting', 'Queries waiting for a database connection', () => poolCounts(sequelize)?.waiting ?? 0);
    metrics.gauge('confidant_db_pool_connections_max', 'Size limit of the database pool (DB_POOL_MAX)', () => poolCounts(sequelize)?.maxSize ?? 0);
  }

  return { routes: metricsRoutes(metrics.registry) };
}
