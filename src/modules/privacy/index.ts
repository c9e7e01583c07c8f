import { privacyRoutes } from './privacy.routes.js';
import { createPrivacyService, type PrivacyDeps } from './privacy.service.js';

export { EXPORT_FORMAT_VERSION } from './privacy.service.js';

/** The data rights of a person (access, portability, erasure); owns no table. Mounted under `/api/users`. */
export function createPrivacyModule(deps: PrivacyDeps) {
  return { routes: privacyRoutes(createPrivacyService(deps)) };
}
