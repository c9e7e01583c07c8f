import type { AuthModule } from '../auth/index.js';
import type { MfaModule } from '../mfa/index.js';
import type { SecurityEventsModule } from '../security-events/index.js';
import type { SessionsModule } from '../sessions/index.js';
import type { UsersModule } from '../users/index.js';
import { adminRoutes } from './admin.routes.js';
import { createAdminService } from './admin.service.js';

/** `/api/admin`: platform administration through the other modules' exports. */
export function createAdminModule(deps: {
  users: Pick<UsersModule, 'accounts'>;
  auth: Pick<AuthModule, 'endSessions'>;
  mfa: Pick<MfaModule, 'factors'>;
  securityEvents: SecurityEventsModule;
  sessions: Pick<SessionsModule, 'breakGlass'>;
}) {
  const service = createAdminService({ accounts: deps.users.accounts, endSessions: deps.auth.endSessions, factors: deps.mfa.factors, events: deps.securityEvents.recorder });
  return { routes: adminRoutes(service, deps.securityEvents, deps.sessions.breakGlass) };
}
