import { AppError } from '../../errors/app-error.js';
import { Reply, route, type RouteDefinition } from '../../http/route.js';
import type { SessionAction } from './session-state.js';
import {
  addEntrySchema,
  entryResponse,
  feedbackResponse,
  feedbackSchema,
  IDEMPOTENCY_KEY,
  listEntriesSchema,
  listSessionsSchema,
  pageOf,
  reportResponse,
  sessionIdSchema,
  sessionResponse,
  startSessionSchema,
} from './sessions.schemas.js';
import type { SessionsService } from './sessions.service.js';

function idempotencyKey(value: string | undefined): string | undefined {
  if (value !== undefined && !IDEMPOTENCY_KEY.test(value)) {
    throw AppError.badRequest('INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1-255 characters of A-Z a-z 0-9 . _ : -');
  }
  return value;
}

/** `/api/sessions`: every route needs a caller; who may touch which session is the service's policy. */
export function sessionsRoutes(sessions: SessionsService): RouteDefinition[] {
  const changeState = (action: SessionAction, summary: string) =>
    route(
      { method: 'POST', path: `/:id/${action}`, access: 'authenticated', summary, request: sessionIdSchema, response: { status: 200, description: 'The session', schema: sessionResponse } },
      ({ actor, input }) => sessions.changeState(actor, input.params.id, action),
    );

  return [
    route(
      {
        method: 'POST', path: '/', access: 'authenticated', summary: 'Start a session',
        description: 'The caller is the client. counselorId (or careId) names a counselor through an active care relationship; the session belongs to its organization. Send an Idempotency-Key header to make retries safe for 24 h.',
        request: startSessionSchema,
        response: { status: 201, description: 'The session', schema: sessionResponse },
        headers: [{ name: 'Idempotency-Key', description: 'Same key and user within 24 h returns the first result (1-255 of A-Z a-z 0-9 . _ : -).' }],
      },
      async ({ actor, input, req }) => {
        const result = await sessions.start(actor, input.body, idempotencyKey(req.get('idempotency-key')));
        return new Reply(result.status, result.body, result.replayed ? { 'Idempotent-Replayed': 'true' } : {});
      },
    ),
    route(
      { method: 'GET', path: '/', access: 'authenticated', summary: 'List sessions', request: listSessionsSchema, response: { status: 200, description: '{ items, nextCursor }', schema: pageOf(sessionResponse) } },
      ({ actor, input }) => sessions.list(actor, input.query),
    ),
    route(
      { method: 'GET', path: '/:id', access: 'authenticated', summary: 'Get a session', request: sessionIdSchema, response: { status: 200, description: 'The session', schema: sessionResponse } },
      ({ actor, input }) => sessions.get(actor, input.params.id),
    ),
    route(
      { method: 'DELETE', path: '/:id', access: 'authenticated', summary: 'Delete a session (client or admin)', request: sessionIdSchema, response: { status: 204, description: 'Deleted' } },
      ({ actor, input }) => sessions.remove(actor, input.params.id),
    ),
    changeState('pause', 'Pause'),
    changeState('resume', 'Resume'),
    changeState('end', 'End'),
    route(
      { method: 'POST', path: '/:id/entries', access: 'authenticated', summary: 'Add a timeline entry', request: addEntrySchema, response: { status: 201, description: 'The entry', schema: entryResponse } },
      ({ actor, input }) => sessions.addEntry(actor, input.params.id, input.body),
    ),
    route(
      { method: 'GET', path: '/:id/entries', access: 'authenticated', summary: 'List timeline entries (the client and their counselor; platform admins through break-glass)', request: listEntriesSchema, response: { status: 200, description: '{ items, nextCursor }', schema: pageOf(entryResponse) } },
      ({ actor, input, meta }) => sessions.listEntries(actor, input.params.id, input.query, meta),
    ),
    route(
      { method: 'POST', path: '/:id/feedback', access: 'authenticated', summary: 'Rate an ended session (client, once)', request: feedbackSchema, response: { status: 201, description: 'The feedback', schema: feedbackResponse } },
      ({ actor, input }) => sessions.giveFeedback(actor, input.params.id, input.body),
    ),
    route(
      {
        method: 'GET', path: '/:id/report', access: 'authenticated', summary: 'Session report', request: sessionIdSchema,
        response: { status: 200, description: 'Duration, counts, emotions, valence and arousal trends, feedback (the comment only for those who may read the content)', schema: reportResponse },
      },
      ({ actor, input, meta }) => sessions.report(actor, input.params.id, meta),
    ),
  ];
}
