import type { Infra } from '../context.js';
import type { ProxyTrustCheck } from '../http/proxy-trust.js';
import type { MountedRoute } from '../http/route-table.js';
import { createAdminModule } from './admin/index.js';
import { createAuthModule } from './auth/index.js';
import { createConsentModule } from './consent/index.js';
import { createDashboardModule } from './dashboard/index.js';
import { createDocsModule } from './docs/index.js';
import { createFilesModule, type ObjectStorage } from './files/index.js';
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
export function createModules(infra: Infra, pipeline: { proxyTrust: ProxyTrustCheck; routes: () => MountedRoute[]; storage?: ObjectStorage }) {
  const securityEvents = createSecurityEventsModule(infra);
  const users = createUsersModule(infra);
  const consent = createConsentModule(infra, { securityEvents });
  // passwordless is built after mfa and auth (it depends on them); mfa asks it, at request time, how many provider identities an account has.
  const identityCount = (userId: string) => passwordless.identityCount(userId);
  const mfa = createMfaModule(infra, { users, securityEvents, identities: identityCount });
  const auth = createAuthModule(infra, { users, securityEvents, mfa, consent });
  const passwordless = createPasswordlessModule(infra, { users, auth, mfa, securityEvents });
  const organizations = createOrganizationsModule(infra, { users, securityEvents });
  const sessions = createSessionsModule(infra, { users, organizations, securityEvents, consent });
  const live = createLiveModule(infra, { auth, sessions, organizations, securityEvents, consent });
  const files = createFilesModule(infra, { sessions, organizations, users, storage: pipeline.storage });
  const health = createHealthModule(infra, { proxyTrust: pipeline.proxyTrust, storage: files.ping });
  return {
    securityEvents,
    users,
    consent,
    mfa,
    auth,
    passwordless,
    organizations,
    sessions,
    live,
    files,
    dashboard: createDashboardModule({ sessions, users, organizations }),
    privacy: createPrivacyModule(infra, { sequelize: infra.sequelize, passwords: infra.passwords, dataKeys: infra.content.keys, users, auth, mfa, passwordless, sessions, securityEvents, organizations, consent, files }),
    admin: createAdminModule({ users, auth, mfa, securityEvents, sessions }),
    health,
    monitoring: createMonitoringModule(infra.errorHandler.stats),
    metrics: createMetricsModule(infra, { securityEvents, health, live }),
    docs: createDocsModule(pipeline.routes),
  };
}

export type Modules = ReturnType<typeof createModules>;
