import type { Infra } from '../context.js';
import type { ProxyTrustCheck } from '../http/proxy-trust.js';
import type { MountedRoute } from '../http/route-table.js';
import { createAdminModule } from './admin/index.js';
import { createAuthModule } from './auth/index.js';
import { createDashboardModule } from './dashboard/index.js';
import { createDocsModule } from './docs/index.js';
import { createHealthModule } from './health/index.js';
import { createLiveModule } from './live/index.js';
import { createMetricsModule } from './metrics/index.js';
import { createMfaModule } from './mfa/index.js';
import { createMonitoringModule } from './monitoring/index.js';
import { createOrganizationsModule } from './organizations/index.js';
import { createPasswordlessModule } from './passwordless/index.js';
import { createPrivacyModule } from './privacy/index.js';
import { createSecurityEventsModule } from './security-events/index.js';
import { createSessionsModule } from './sessions/index.js';
import { createUsersModule } from './users/index.js';

/** The modules and what each may call of the others: a module is built from infra and the exports it names. */
export function createModules(infra: Infra, pipeline: { proxyTrust: ProxyTrustCheck; routes: () => MountedRoute[] }) {
  const securityEvents = createSecurityEventsModule(infra);
  const users = createUsersModule(infra);
  const mfa = createMfaModule(infra, { users, securityEvents });
  const auth = createAuthModule(infra, { users, securityEvents, mfa });
  const passwordless = createPasswordlessModule(infra, { users, auth, securityEvents });
  const organizations = createOrganizationsModule(infra, { users, securityEvents });
  const sessions = createSessionsModule(infra, { users, organizations, securityEvents });
  const live = createLiveModule(infra, { auth, sessions, organizations, securityEvents });
  const health = createHealthModule(infra, { proxyTrust: pipeline.proxyTrust });
  return {
    securityEvents,
    users,
    mfa,
    auth,
    passwordless,
    organizations,
    sessions,
    live,
    dashboard: createDashboardModule({ sessions, users, organizations }),
    privacy: createPrivacyModule({ sequelize: infra.sequelize, passwords: infra.passwords, dataKeys: infra.content.keys, users, auth, mfa, sessions, securityEvents, organizations }),
    admin: createAdminModule({ users, auth, mfa, securityEvents, sessions }),
    health,
    monitoring: createMonitoringModule(infra.errorHandler.stats),
    metrics: createMetricsModule(infra, { securityEvents, health, live }),
    docs: createDocsModule(pipeline.routes),
  };
}

export type Modules = ReturnType<typeof createModules>;
