import type { Infra } from '../../context.js';
import type { ConsentModule } from '../consent/index.js';
import type { AuthModule } from '../auth/index.js';
import type { OrganizationsModule } from '../organizations/index.js';
import type { SecurityEventsModule } from '../security-events/index.js';
import type { SessionsModule } from '../sessions/index.js';
import { localBus, redisBus } from './live-bus.js';
import { LiveChannel, type LiveEvent } from './live-channel.js';
import { liveGateway } from './live-gateway.js';
import { liveRoutes } from './live.routes.js';
import { refusalLog, type RefusalReason } from './refusals.js';

export { LIVE_PATH } from './live-gateway.js';
export { REFUSAL_REASONS, type RefusalReason } from './refusals.js';
export type { LiveEvent } from './live-channel.js';

/**
 * Live sessions over WebSocket (`/api/live`, on the API's own port): sockets follow
 * counseling sessions and see entries and state changes as they happen, write entries
 * through the sessions service, and are closed when their login session ends or their
 * access changes. With Redis, instances tell each other what changed. Owns no table.
 */
export function createLiveModule(
  infra: Pick<Infra, 'config' | 'logger' | 'shared' | 'metrics'>,
  deps: {
    auth: Pick<AuthModule, 'verifyBearer' | 'guard'>;
    sessions: Pick<SessionsModule, 'live'>;
    organizations: Pick<OrganizationsModule, 'onAccessChange'>;
    securityEvents: Pick<SecurityEventsModule, 'recorder'>;
    consent: Pick<ConsentModule, 'requireCurrent'>;
  },
) {
  const { config, logger, shared } = infra;
  const observers: ((event: LiveEvent | `refused:${RefusalReason}`) => void)[] = [];
  const observe = (event: LiveEvent | `refused:${RefusalReason}`) => {
    for (const observer of observers) observer(event);
  };
  const refused = refusalLog(deps.securityEvents.recorder, (reason) => observe(`refused:${reason}`));
  const channel = new LiveChannel({
    settings: config.live,
    logger,
    bus: shared ? redisBus(shared) : localBus(),
    verifyBearer: deps.auth.verifyBearer,
    isSessionActive: (sessionId) => deps.auth.guard.isActive(sessionId),
    consentGiven: deps.consent.requireCurrent,
    sessions: deps.sessions.live,
    refused,
    observe,
  });
  deps.auth.guard.watch({ revoked: (ids) => channel.revoked(ids), missedAnnouncements: () => void channel.recheckSessions() });
  deps.organizations.onAccessChange((userIds) => channel.accessChanged(userIds));

  return {
    routes: liveRoutes(),
    /** The HTTP server's `upgrade` listener (src/server.ts; the tests' servers too). */
    upgrade: liveGateway({ config, logger, metrics: infra.metrics, channel, refused }),
    /** Shutdown: entries being written are finished, then every socket closes with 1001. */
    close: () => channel.close(),
    /** For the metrics: open sockets now, and every message and refusal as it happens. */
    stats: {
      open: () => channel.open,
      observe: (observer: (event: LiveEvent | `refused:${RefusalReason}`) => void) => observers.push(observer),
    },
  };
}

export type LiveModule = ReturnType<typeof createLiveModule>;
