import type { Infra } from '../../context.js';
import { InvalidatedCache } from '../../infra/invalidated-cache.js';
import type { SecurityEventsModule } from '../security-events/index.js';
import { consentRoutes } from './consent.routes.js';
import { createConsentService, type ConsentState } from './consent.service.js';

export { consentExport, consentInput, type ConsentInput } from './consent.schemas.js';

/** How long a cached consent summary may live when no invalidation can arrive (Redis away). */
const CONSENT_CACHE_MS = 60_000;

/** Consent records (`consent_records`): the documents in force, who accepted which version, withdrawals. */
export function createConsentModule(infra: Pick<Infra, 'config' | 'models' | 'shared'>, deps: { securityEvents: Pick<SecurityEventsModule, 'recorder'> }) {
  const cache = new InvalidatedCache<ConsentState>('consent-changes', CONSENT_CACHE_MS, infra.shared);
  const service = createConsentService({ documents: infra.config.consent.documents, models: infra.models, cache, events: deps.securityEvents.recorder });
  return {
    routes: consentRoutes(service),
    /** Registration: refuses (422) unless the accepted list covers what is in force; then records it. */
    assertCoversCurrent: service.assertCoversCurrent,
    give: service.give,
    /** The gate of every authenticated route that does not declare `withoutConsent`. */
    requireCurrent: service.requireCurrent,
    /** Before storing counseling content about a client. */
    requireHealthDataConsent: service.requireHealthDataConsent,
    history: service.history,
  };
}

export type ConsentModule = ReturnType<typeof createConsentModule>;
