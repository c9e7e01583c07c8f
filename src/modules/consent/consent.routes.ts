import { route, type RouteDefinition } from '../../http/route.js';
import { consentsResponse, documentParamSchema, giveConsentSchema } from './consent.schemas.js';
import type { ConsentService } from './consent.service.js';

const TAG = 'Consent';

/** `/api/users/me/consents`: what the caller has accepted of the documents in force, and changing it. */
export function consentRoutes(consent: ConsentService): RouteDefinition[] {
  return [
    route(
      {
        method: 'GET', path: '/me/consents', access: 'authenticated', duringEnrolment: true, withoutConsent: true, tag: TAG, summary: 'The documents in force and the caller’s consents',
        response: { status: 200, description: 'Each document with its current version and the caller’s standing, what is outstanding, and the history', schema: consentsResponse },
      },
      ({ actor }) => consent.view(actor.userId),
    ),
    route(
      {
        method: 'POST', path: '/me/consents', access: 'authenticated', duringEnrolment: true, withoutConsent: true, tag: TAG, summary: 'Accept the current version of a document',
        description: 'The version must be the one in force (409 CONSENT_VERSION_NOT_CURRENT otherwise). Accepting again what is accepted changes nothing.',
        request: giveConsentSchema, response: { status: 200, description: 'The caller’s consents after the change', schema: consentsResponse },
      },
      async ({ actor, input, meta }) => {
        await consent.give(actor.userId, [input.body], meta);
        return consent.view(actor.userId);
      },
    ),
    route(
      {
        method: 'DELETE', path: '/me/consents/:document', access: 'authenticated', duringEnrolment: true, withoutConsent: true, tag: TAG, summary: 'Withdraw a consent',
        description:
          'Withdrawing health_data_processing stops new counseling content about the caller (409 HEALTH_DATA_CONSENT_WITHDRAWN) and deletes nothing; withdrawing terms or privacy leaves only the consent routes, export and deletion open.',
        request: documentParamSchema, response: { status: 204, description: 'Withdrawn (or not given)' },
      },
      ({ actor, input, meta }) => consent.withdraw(actor.userId, input.params.document, meta),
    ),
  ];
}
