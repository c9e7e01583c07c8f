import { Reply, route, type RouteDefinition } from '../../http/route.js';
import { sendStream } from '../../http/stream-body.js';
import type { ExportJobs } from './export-jobs.js';
import { deleteAccountSchema, eventListResponse, exportDownloadSchema, exportIdSchema, exportJobResponse, exportResponse, ownEventsSchema } from './privacy.schemas.js';
import type { PrivacyService } from './privacy.service.js';

/** `/api/users/me/...`: what the caller may know about, take away and erase of their own data. */
export function privacyRoutes(privacy: PrivacyService, exports: ExportJobs): RouteDefinition[] {
  return [
    route(
      { method: 'GET', path: '/me/security-events', access: 'authenticated', summary: 'The caller’s security events', request: ownEventsSchema, response: { status: 200, description: '{ items }', schema: eventListResponse } },
      async ({ actor, input }) => ({ items: await privacy.ownSecurityEvents(actor.userId, input.query.limit) }),
    ),
    route(
      {
        method: 'GET', path: '/me/export', access: 'authenticated', withoutConsent: true, summary: 'Export everything stored about the caller (GDPR), as one JSON document',
        description: 'Answers at once, without the bytes of files (each is listed with the path that downloads it). POST /api/users/me/exports makes an archive with the files in it.',
        response: { status: 200, description: 'One JSON document', schema: exportResponse },
      },
      async ({ actor, meta }) =>
        new Reply(200, await privacy.exportAll(actor.userId, meta), { 'Content-Disposition': 'attachment; filename="confidant-export.json"' }),
    ),
    route(
      {
        method: 'POST', path: '/me/exports', access: 'authenticated', withoutConsent: true, summary: 'Start an export archive of everything stored about the caller (GDPR)',
        description: 'A zip of export.json (the document of GET /api/users/me/export) and every file, made in the background. Follow it at its Location; once ready it downloads once, through a link that works for five minutes, and it is deleted 24 hours after it was asked for. 409 EXPORT_IN_PROGRESS while another is being made.',
        response: { status: 202, description: 'The export, queued', schema: exportJobResponse },
      },
      async ({ actor, meta }) => {
        const job = await exports.start(actor.userId, meta);
        return new Reply(202, job, { Location: `/api/users/me/exports/${job.id}` });
      },
    ),
    route(
      { method: 'GET', path: '/me/exports/:id', access: 'authenticated', withoutConsent: true, summary: 'An export archive’s state, and its download link once ready', request: exportIdSchema, response: { status: 200, description: 'The export', schema: exportJobResponse } },
      ({ actor, input }) => exports.status(actor.userId, input.params.id),
    ),
    route(
      { method: 'DELETE', path: '/me', access: 'authenticated', withoutConsent: true, stepUp: true, summary: 'Delete the account (the password, when it has one)', request: deleteAccountSchema,
        description: 'Needs a sign-in within 5 minutes (step-up). An account with a password sends it; one without (made by a magic link or an OpenID provider) sends {}: the step-up (a passkey, a code, POST /api/auth/magic-link/reauthenticate) is the proof.', response: { status: 204, description: 'Deleted' } },
      ({ actor, input, meta }) => privacy.deleteAccount(actor.userId, input.body.password, meta),
    ),
  ];
}

/** `/api/exports/:id/archive`: the signed link is the credential (a browser follows it without a bearer token). */
export function exportDownloadRoutes(exports: ExportJobs): RouteDefinition[] {
  return [
    route(
      {
        method: 'GET', path: '/:id/archive', access: 'public', summary: 'Download an export archive, once (the link from GET /api/users/me/exports/:id)',
        description: '403 INVALID_SIGNATURE for a link that is forged or older than five minutes; 410 EXPORT_GONE once it was used, or the export expired.',
        request: exportDownloadSchema, response: { status: 200, description: 'The zip', contentType: 'application/zip' },
      },
      async ({ input, meta, res }) => {
        const { headers, body } = await exports.download(input.params.id, input.query.token, meta);
        await sendStream(res, headers, body);
      },
    ),
  ];
}
