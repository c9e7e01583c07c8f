import { route, type RouteDefinition } from '../../http/route.js';
import { confirmTotpSchema, mfaStatusResponse, recoveryCodesResponse, totpSetupResponse } from './mfa.schemas.js';
import type { MfaService } from './mfa.service.js';

const TAG = 'Second factors';

/** `/api/auth/mfa/...`: the caller's authenticator app and recovery codes. */
export function mfaRoutes(mfa: MfaService): RouteDefinition[] {
  return [
    route(
      { method: 'GET', path: '/mfa', access: 'authenticated', duringEnrolment: true, tag: TAG, summary: 'The caller’s second factors', response: { status: 200, description: 'What is set up, and whether the role requires it', schema: mfaStatusResponse } },
      ({ actor }) => mfa.status(actor.userId, actor.role),
    ),
    route(
      {
        method: 'POST', path: '/mfa/totp/setup', access: 'authenticated', duringEnrolment: true, tag: TAG, summary: 'Start setting up an authenticator app',
        description: 'A new secret, its otpauth:// URI and a QR code. Nothing is enabled until POST /mfa/totp/confirm accepts a code.',
        response: { status: 200, description: '{ secret, otpauthUrl, qr }', schema: totpSetupResponse },
      },
      ({ actor }) => mfa.setupTotp(actor.userId),
    ),
    route(
      {
        method: 'POST', path: '/mfa/totp/confirm', access: 'authenticated', duringEnrolment: true, rateLimit: 'auth', tag: TAG, summary: 'Confirm the authenticator app with a code', request: confirmTotpSchema,
        description: 'Enables the factor and answers ten recovery codes, shown this once.',
        response: { status: 200, description: '{ recoveryCodes }', schema: recoveryCodesResponse },
      },
      ({ actor, input, meta }) => mfa.confirmTotp(actor.userId, input.body.code, meta),
    ),
    route(
      { method: 'DELETE', path: '/mfa/totp', access: 'authenticated', stepUp: true, tag: TAG, summary: 'Remove the authenticator app', response: { status: 204, description: 'Removed' } },
      ({ actor, meta }) => mfa.disableTotp(actor.userId, meta),
    ),
    route(
      { method: 'POST', path: '/mfa/recovery-codes', access: 'authenticated', stepUp: true, tag: TAG, summary: 'Replace the recovery codes', description: 'Ten new codes, shown this once; the old ones stop working.', response: { status: 200, description: '{ recoveryCodes }', schema: recoveryCodesResponse } },
      ({ actor, meta }) => mfa.regenerateRecoveryCodes(actor.userId, meta),
    ),
  ];
}
