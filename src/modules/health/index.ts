import type { Infra } from '../../context.js';
import type { ProxyTrustCheck } from '../../http/proxy-trust.js';
import { healthRoutes } from './health.routes.js';
import { createHealthService } from './health.service.js';

/** Liveness and readiness for the platform's probes; owns no table. */
export function createHealthModule(infra: Pick<Infra, 'sequelize' | 'shared' | 'lifecycle' | 'logger' | 'config' | 'keyStore'>, deps: { proxyTrust: ProxyTrustCheck; storage?: () => Promise<void> }) {
  const service = createHealthService({
    sequelize: infra.sequelize,
    shared: infra.shared,
    lifecycle: infra.lifecycle,
    keyStore: infra.keyStore,
    proxyTrust: deps.proxyTrust,
    storage: deps.storage,
    logger: infra.logger,
    commit: infra.config.commit,
    dbTimeoutMs: infra.config.database.readyTimeoutMs,
  });
  return { routes: healthRoutes(service), readiness: service.readiness };
}

export type HealthModule = ReturnType<typeof createHealthModule>;
