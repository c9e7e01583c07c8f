import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { userWithToken } from '../helpers/users.js';

/**
 * Malformed input of every kind on every route of the domain API: always a 4xx problem with
 * a code and a request id, never a 5xx, and nothing written.
 */

const DOMAIN_PREFIXES = ['/api/sessions', '/api/files', '/api/organizations', '/api/invitations', '/api/dashboard', '/api/users', '/api/exports', '/api/admin'];
/** Tables a domain request may write; security events and locks are written in the background. */
const DOMAIN_TABLES = ['users', 'counseling_sessions', 'session_entries', 'session_feedback', 'idempotency_keys', 'user_preferences', 'organizations', 'memberships', 'invitations', 'care_relationships', 'session_access_grants', 'consent_records', 'stored_files', 'data_exports'];

type Caller = Awaited<ReturnType<typeof userWithToken>>;
type Who = 'client' | 'admin';

let t: TestApp;
const callers = {} as Record<Who, Caller>;
let active: string;
let ended: string;

beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
  callers.client = await userWithToken(t);
  callers.admin = await userWithToken(t, { role: 'admin' });
  const now = new Date();
  const common = { userId: callers.client.user.id, counselorId: null, topic: null, startedAt: new Date(now.getTime() - 60_000) };
  active = (await t.context.models.CounselingSession.create({ ...common, lastResumedAt: now })).id;
  ended = (await t.context.models.CounselingSession.create({ ...common, status: 'ended', lastResumedAt: null, endedAt: now })).id;
});
afterAll(() => t.close());

interface Case {
  route: string;
  what: string;
  status: number;
  who?: Who;
  path?: () => string;
  query?: Record<string, unknown> | string;
  body?: unknown;
  raw?: { type: string; data: string };
  headers?: Record<string, string>;
}

const JSON_TEXT = (data: string) => ({ type: 'application/json', data });
const PLAIN = { type: 'text/plain', data: 'topic=hello' };
const FORM = { type: 'application/x-www-form-urlencoded', data: 'topic=hello' };
const LONG = 'x'.repeat(10_001);
const sessionPath = (suffix = '') => () => `/api/sessions/${active}${suffix}`;
const ORG = randomUUID();
const multipartOf = (body: string) => ({ type: 'multipart/form-data; boundary=XB', data: body.replace(/\n/g, '\r\n') });
const NO_FILE_PART = multipartOf('--XB\nContent-Disposition: form-data; name="note"\n\nhello\n--XB--\n');
const NOT_MULTIPART = multipartOf('this is not a multipart body at all');
const orgPath = (suffix = '') => () => `/api/organizations/${ORG}${suffix}`;

// prettier-ignore
const CASES: Case[] = [
  // POST /api/sessions
  { route: 'POST /api/sessions', what: 'topic of the wrong type', status: 400, body: { topic: 123 } },
  { route: 'POST /api/sessions', what: 'topic over 200 characters', status: 400, body: { topic: 'x'.repeat(201) } },
  { route: 'POST /api/sessions', what: 'counselorId not a uuid', status: 400, body: { counselorId: 'not-a-uuid' } },
  { route: 'POST /api/sessions', what: 'counselorId a number', status: 400, body: { counselorId: 42 } },
  { route: 'POST /api/sessions', what: 'an unknown key', status: 400, body: { mood: 'fine' } },
  { route: 'POST /api/sessions', what: 'an array body', status: 400, body: [] },
  { route: 'POST /api/sessions', what: 'a JSON string body', status: 400, raw: JSON_TEXT('"hello"') },
  { route: 'POST /api/sessions', what: 'a __proto__ key', status: 400, raw: JSON_TEXT('{"__proto__":{"admin":true}}') },
  { route: 'POST /api/sessions', what: 'malformed JSON', status: 400, raw: JSON_TEXT('{"topic":') },
  { route: 'POST /api/sessions', what: 'a text/plain body', status: 415, raw: PLAIN },
  { route: 'POST /api/sessions', what: 'a form body', status: 415, raw: FORM },
  { route: 'POST /api/sessions', what: 'a body over the 64 kB limit', status: 413, body: { topic: 'x'.repeat(70_000) } },
  { route: 'POST /api/sessions', what: 'a malformed Idempotency-Key', status: 400, body: {}, headers: { 'Idempotency-Key': 'has spaces' } },
  // GET /api/sessions
  { route: 'GET /api/sessions', what: 'limit=abc', status: 400, query: { limit: 'abc' } },
  { route: 'GET /api/sessions', what: 'limit=0', status: 400, query: { limit: 0 } },
  { route: 'GET /api/sessions', what: 'limit=101', status: 400, query: { limit: 101 } },
  { route: 'GET /api/sessions', what: 'limit=1e400', status: 400, query: 'limit=1e400' },
  { route: 'GET /api/sessions', what: 'an unknown status', status: 400, query: { status: 'archived' } },
  { route: 'GET /api/sessions', what: 'status twice', status: 400, query: 'status=active&status=paused' },
  { route: 'GET /api/sessions', what: 'from not a date', status: 400, query: { from: 'yesterday' } },
  { route: 'GET /api/sessions', what: 'from on 30 February', status: 400, query: { from: '2024-02-30T00:00:00Z' } },
  { route: 'GET /api/sessions', what: 'from after to', status: 400, query: { from: '2024-02-01T00:00:00Z', to: '2024-01-01T00:00:00Z' } },
  { route: 'GET /api/sessions', what: 'a garbage cursor', status: 400, query: { cursor: '!!!' } },
  { route: 'GET /api/sessions', what: 'a cursor naming 30 February', status: 400, query: { cursor: Buffer.from(JSON.stringify(['2024-02-30T00:00:00.000Z', randomUUID()])).toString('base64url') } },
  { route: 'GET /api/sessions', what: 'a cursor over 200 characters', status: 400, query: { cursor: 'a'.repeat(201) } },
  { route: 'GET /api/sessions', what: 'an unknown query key', status: 400, query: { userId: randomUUID() } },
  // Session routes by id
  { route: 'GET /api/sessions/:id', what: 'a malformed id', status: 400, path: () => '/api/sessions/not-a-uuid' },
  { route: 'GET /api/sessions/:id', what: 'a numeric id', status: 400, path: () => '/api/sessions/123' },
  { route: 'GET /api/sessions/:id', what: 'an id with a NUL', status: 400, path: () => `/api/sessions/${randomUUID()}%00` },
  { route: 'DELETE /api/sessions/:id', what: 'a malformed id', status: 400, path: () => '/api/sessions/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz' },
  { route: 'DELETE /api/sessions/:id', what: 'malformed JSON', status: 400, path: sessionPath(), raw: JSON_TEXT('{') },
  { route: 'POST /api/sessions/:id/pause', what: 'a malformed id', status: 400, path: () => `/api/sessions/${'9'.repeat(300)}/pause` },
  { route: 'POST /api/sessions/:id/pause', what: 'malformed JSON', status: 400, path: sessionPath('/pause'), raw: JSON_TEXT('{"x"') },
  { route: 'POST /api/sessions/:id/resume', what: 'a malformed id', status: 400, path: () => "/api/sessions/'%20OR%201=1%20--/resume" },
  { route: 'POST /api/sessions/:id/end', what: 'a malformed id', status: 400, path: () => '/api/sessions/..%2f..%2fetc/end' },
  { route: 'POST /api/sessions/:id/end', what: 'malformed JSON', status: 400, path: sessionPath('/end'), raw: JSON_TEXT('nope') },
  // Entries
  { route: 'POST /api/sessions/:id/entries', what: 'a malformed id', status: 400, path: () => '/api/sessions/abc/entries', body: { kind: 'note', text: 'x' } },
  { route: 'POST /api/sessions/:id/entries', what: 'kind of the wrong type', status: 400, path: sessionPath('/entries'), body: { kind: 1, text: 'x' } },
  { route: 'POST /api/sessions/:id/entries', what: 'valence as a string', status: 400, path: sessionPath('/entries'), body: { kind: 'emotion', emotion: 'joy', valence: '0.5', arousal: 0.5 } },
  { route: 'POST /api/sessions/:id/entries', what: 'valence 1e309', status: 400, path: sessionPath('/entries'), raw: JSON_TEXT('{"kind":"emotion","emotion":"joy","valence":1e309,"arousal":0.5}') },
  { route: 'POST /api/sessions/:id/entries', what: 'arousal null', status: 400, path: sessionPath('/entries'), body: { kind: 'emotion', emotion: 'joy', valence: 0, arousal: null } },
  { route: 'POST /api/sessions/:id/entries', what: 'an emotion in capitals', status: 400, path: sessionPath('/entries'), body: { kind: 'emotion', emotion: 'JOY', valence: 0, arousal: 0 } },
  { route: 'POST /api/sessions/:id/entries', what: 'at as a number', status: 400, path: sessionPath('/entries'), body: { kind: 'note', text: 'x', at: 1700000000000 } },
  { route: 'POST /api/sessions/:id/entries', what: 'at on 30 February', status: 400, path: sessionPath('/entries'), body: { kind: 'note', text: 'x', at: '2024-02-30T00:00:00Z' } },
  { route: 'POST /api/sessions/:id/entries', what: 'at far in the future', status: 400, path: sessionPath('/entries'), body: { kind: 'note', text: 'x', at: '9999-12-31T23:59:59Z' } },
  { route: 'POST /api/sessions/:id/entries', what: 'text as an array', status: 400, path: sessionPath('/entries'), body: { kind: 'note', text: ['x'] } },
  { route: 'POST /api/sessions/:id/entries', what: 'text as an object', status: 400, path: sessionPath('/entries'), body: { kind: 'note', text: { $gt: '' } } },
  { route: 'POST /api/sessions/:id/entries', what: 'text over 10,000 characters', status: 400, path: sessionPath('/entries'), body: { kind: 'note', text: LONG } },
  { route: 'POST /api/sessions/:id/entries', what: 'an unknown key', status: 400, path: sessionPath('/entries'), body: { kind: 'note', text: 'x', private: true } },
  { route: 'POST /api/sessions/:id/entries', what: 'a text/plain body', status: 415, path: sessionPath('/entries'), raw: PLAIN },
  { route: 'GET /api/sessions/:id/entries', what: 'a malformed id', status: 400, path: () => '/api/sessions/1/entries' },
  { route: 'GET /api/sessions/:id/entries', what: 'limit=0', status: 400, path: sessionPath('/entries'), query: { limit: 0 } },
  { route: 'GET /api/sessions/:id/entries', what: 'a bad cursor', status: 400, path: sessionPath('/entries'), query: { cursor: Buffer.from('[1,2]').toString('base64url') } },
  { route: 'GET /api/sessions/:id/entries', what: 'an unknown query key', status: 400, path: sessionPath('/entries'), query: { kind: 'note' } },
  // Feedback and report
  { route: 'POST /api/sessions/:id/feedback', what: 'a malformed id', status: 400, path: () => '/api/sessions/feedback/feedback', body: { rating: 5 } },
  { route: 'POST /api/sessions/:id/feedback', what: 'rating as a string', status: 400, path: () => `/api/sessions/${ended}/feedback`, body: { rating: '5' } },
  { route: 'POST /api/sessions/:id/feedback', what: 'rating 5.5', status: 400, path: () => `/api/sessions/${ended}/feedback`, body: { rating: 5.5 } },
  { route: 'POST /api/sessions/:id/feedback', what: 'rating -1', status: 400, path: () => `/api/sessions/${ended}/feedback`, body: { rating: -1 } },
  { route: 'POST /api/sessions/:id/feedback', what: 'a comment over 2,000 characters', status: 400, path: () => `/api/sessions/${ended}/feedback`, body: { rating: 5, comment: 'x'.repeat(2_001) } },
  { route: 'POST /api/sessions/:id/feedback', what: 'comment as a number', status: 400, path: () => `/api/sessions/${ended}/feedback`, body: { rating: 5, comment: 5 } },
  { route: 'POST /api/sessions/:id/feedback', what: 'an unknown key', status: 400, path: () => `/api/sessions/${ended}/feedback`, body: { rating: 5, userId: randomUUID() } },
  { route: 'POST /api/sessions/:id/feedback', what: 'a form body', status: 415, path: () => `/api/sessions/${ended}/feedback`, raw: FORM },
  { route: 'GET /api/sessions/:id/report', what: 'a malformed id', status: 400, path: () => '/api/sessions/report/report' },
  // Organizations
  { route: 'POST /api/organizations', what: 'no slug', status: 400, body: { name: 'Practice' } },
  { route: 'POST /api/organizations', what: 'a slug with capitals', status: 400, body: { name: 'Practice', slug: 'Practice' } },
  { route: 'POST /api/organizations', what: 'a slug with a slash', status: 400, body: { name: 'Practice', slug: '../etc' } },
  { route: 'POST /api/organizations', what: 'a name of the wrong type', status: 400, body: { name: ['Practice'], slug: 'practice' } },
  { route: 'POST /api/organizations', what: 'an ownerId', status: 400, body: { name: 'Practice', slug: 'practice', ownerId: randomUUID() } },
  { route: 'POST /api/organizations', what: 'a text/plain body', status: 415, raw: PLAIN },
  { route: 'POST /api/organizations', what: 'a body over the 16 kB limit', status: 413, body: { name: 'x'.repeat(20_000), slug: 'practice' } },
  { route: 'GET /api/organizations', what: 'limit=0', status: 400, query: { limit: 0 } },
  { route: 'GET /api/organizations', what: 'a garbage cursor', status: 400, query: { cursor: '!!!' } },
  { route: 'GET /api/organizations/:id', what: 'a malformed id', status: 400, path: () => '/api/organizations/not-a-uuid' },
  { route: 'PATCH /api/organizations/:id', what: 'an empty body', status: 400, path: orgPath(), body: {} },
  { route: 'PATCH /api/organizations/:id', what: 'a slug of 51 characters', status: 400, path: orgPath(), body: { slug: 'a'.repeat(51) } },
  { route: 'PATCH /api/organizations/:id', what: 'a role', status: 400, path: orgPath(), body: { name: 'x', role: 'owner' } },
  { route: 'DELETE /api/organizations/:id', what: 'a malformed id', status: 400, path: () => '/api/organizations/1' },
  { route: 'GET /api/organizations/:id/members', what: 'an unknown role', status: 400, path: orgPath('/members'), query: { role: 'root' } },
  { route: 'GET /api/organizations/:id/members', what: 'limit=101', status: 400, path: orgPath('/members'), query: { limit: 101 } },
  { route: 'PATCH /api/organizations/:id/members/:userId', what: 'a malformed user id', status: 400, path: orgPath('/members/me'), body: { role: 'client' } },
  { route: 'PATCH /api/organizations/:id/members/:userId', what: 'an unknown role', status: 400, path: orgPath(`/members/${randomUUID()}`), body: { role: 'superuser' } },
  { route: 'PATCH /api/organizations/:id/members/:userId', what: 'an organizationId', status: 400, path: orgPath(`/members/${randomUUID()}`), body: { role: 'client', organizationId: randomUUID() } },
  { route: 'DELETE /api/organizations/:id/members/:userId', what: 'a malformed user id', status: 400, path: orgPath('/members/1%20OR%201=1') },
  { route: 'POST /api/organizations/:id/invitations', what: 'a malformed email', status: 400, path: orgPath('/invitations'), body: { email: 'not-an-email', role: 'client' } },
  { route: 'POST /api/organizations/:id/invitations', what: 'no role', status: 400, path: orgPath('/invitations'), body: { email: 'a@example.com' } },
  { route: 'POST /api/organizations/:id/invitations', what: 'a counselorId with a staff role', status: 400, path: orgPath('/invitations'), body: { email: 'a@example.com', role: 'admin', counselorId: randomUUID() } },
  { route: 'GET /api/organizations/:id/invitations', what: 'an unknown status', status: 400, path: orgPath('/invitations'), query: { status: 'accepted' } },
  { route: 'DELETE /api/organizations/:id/invitations/:invitationId', what: 'a malformed invitation id', status: 400, path: orgPath('/invitations/abc') },
  { route: 'POST /api/organizations/:id/care', what: 'no clientId', status: 400, path: orgPath('/care'), body: { counselorId: randomUUID() } },
  { route: 'POST /api/organizations/:id/care', what: 'a counselorId that is not a uuid', status: 400, path: orgPath('/care'), body: { counselorId: 'me', clientId: randomUUID() } },
  { route: 'GET /api/organizations/:id/care', what: 'an unknown status', status: 400, path: orgPath('/care'), query: { status: 'paused' } },
  { route: 'DELETE /api/organizations/:id/care/:careId', what: 'a malformed care id', status: 400, path: orgPath('/care/x') },
  { route: 'GET /api/organizations/:id/security-events', what: 'an unknown type', status: 400, path: orgPath('/security-events'), query: { type: 'everything' } },
  { route: 'GET /api/organizations/:id/security-events', what: 'a userId filter', status: 400, path: orgPath('/security-events'), query: { userId: randomUUID() } },
  { route: 'GET /api/organizations/:id/dashboard', what: 'days=0', status: 400, path: orgPath('/dashboard'), query: { days: 0 } },
  { route: 'GET /api/organizations/:id/dashboard', what: 'a malformed id', status: 400, path: () => '/api/organizations/x/dashboard' },
  { route: 'POST /api/invitations/accept', what: 'no token', status: 400, body: {} },
  { route: 'POST /api/invitations/accept', what: 'a token of the wrong shape', status: 400, body: { token: 'x'.repeat(44) } },
  { route: 'POST /api/invitations/accept', what: 'a token that matches no invitation', status: 400, body: { token: 'D'.repeat(43) } },
  // Dashboard
  { route: 'GET /api/dashboard/summary', what: 'days=abc', status: 400, query: { days: 'abc' } },
  { route: 'GET /api/dashboard/summary', what: 'days=0', status: 400, query: { days: 0 } },
  { route: 'GET /api/dashboard/summary', what: 'days=91', status: 400, query: { days: 91 } },
  { route: 'GET /api/dashboard/summary', what: 'days twice', status: 400, query: 'days=7&days=8' },
  { route: 'GET /api/dashboard/summary', what: 'an unknown query key', status: 400, query: { userId: randomUUID() } },
  // Users
  { route: 'GET /api/users/me', what: 'a malformed bearer token', status: 401, headers: { Authorization: 'Bearer not.a.jwt' } },
  { route: 'PATCH /api/users/me', what: 'name of the wrong type', status: 400, body: { name: 5 } },
  { route: 'PATCH /api/users/me', what: 'name over 100 characters', status: 400, body: { name: 'x'.repeat(101) } },
  { route: 'PATCH /api/users/me', what: 'an ftp avatar', status: 400, body: { avatarUrl: 'ftp://example.com/a.png' } },
  { route: 'PATCH /api/users/me', what: 'an avatar over 2,048 characters', status: 400, body: { avatarUrl: `https://example.com/${'a'.repeat(2_048)}` } },
  { route: 'PATCH /api/users/me', what: 'an unknown key', status: 400, body: { role: 'admin' } },
  { route: 'PATCH /api/users/me', what: 'a text/plain body', status: 415, raw: PLAIN },
  { route: 'PATCH /api/users/me', what: 'a body over the 16 kB limit', status: 413, body: { name: 'x'.repeat(20_000) } },
  { route: 'GET /api/users/me/preferences', what: 'a malformed bearer token', status: 401, headers: { Authorization: 'Bearer ' } },
  { route: 'PUT /api/users/me/preferences', what: 'theme of the wrong type', status: 400, body: { theme: 5 } },
  { route: 'PUT /api/users/me/preferences', what: 'notifications as a string', status: 400, body: { notifications: 'on' } },
  { route: 'PUT /api/users/me/preferences', what: 'a time zone over 64 characters', status: 400, body: { timezone: 'A'.repeat(65) } },
  { route: 'PUT /api/users/me/preferences', what: 'an unknown key', status: 400, body: { sound: true } },
  { route: 'PUT /api/users/me/preferences', what: 'malformed JSON', status: 400, raw: JSON_TEXT('{"theme":"dark",}') },
  { route: 'GET /api/users/me/security-events', what: 'limit=abc', status: 400, query: { limit: 'abc' } },
  { route: 'GET /api/users/me/security-events', what: 'limit=101', status: 400, query: { limit: 101 } },
  { route: 'GET /api/users/me/security-events', what: 'an unknown query key', status: 400, query: { userId: randomUUID() } },
  { route: 'GET /api/users/me/export', what: 'a malformed bearer token', status: 401, headers: { Authorization: 'Basic dXNlcjpwYXNz' } },
  { route: 'POST /api/users/me/exports', what: 'a malformed bearer token', status: 401, headers: { Authorization: 'Bearer not-a-token' } },
  { route: 'GET /api/users/me/exports/:id', what: 'an id that is not a UUID', status: 400, path: () => '/api/users/me/exports/42' },
  { route: 'GET /api/users/me/exports/:id', what: 'an export of nobody', status: 404, path: () => `/api/users/me/exports/${randomUUID()}` },
  { route: 'GET /api/exports/:id/archive', what: 'no token', status: 400, path: () => `/api/exports/${randomUUID()}/archive` },
  { route: 'GET /api/exports/:id/archive', what: 'a malformed token', status: 400, path: () => `/api/exports/${randomUUID()}/archive?token=no-dot` },
  { route: 'GET /api/exports/:id/archive', what: 'a second query key', status: 400, path: () => `/api/exports/${randomUUID()}/archive?token=a.b&extra=1` },
  { route: 'GET /api/exports/:id/archive', what: 'a forged token', status: 403, path: () => `/api/exports/${randomUUID()}/archive?token=eyJpZCI6IngifQ.AAAA` },
  { route: 'GET /api/users/me/consents', what: 'a malformed bearer token', status: 401, headers: { Authorization: 'Bearer not-a-token' } },
  { route: 'POST /api/users/me/consents', what: 'an unknown document', status: 400, body: { document: 'cookies', version: '1' } },
  { route: 'POST /api/users/me/consents', what: 'no version', status: 400, body: { document: 'terms' } },
  { route: 'POST /api/users/me/consents', what: 'a version with spaces', status: 400, body: { document: 'terms', version: '1 2' } },
  { route: 'POST /api/users/me/consents', what: 'an unknown key', status: 400, body: { document: 'terms', version: '1', userId: randomUUID() } },
  { route: 'POST /api/users/me/consents', what: 'a document that is not in force', status: 422, body: { document: 'terms', version: '1' } },
  { route: 'DELETE /api/users/me/consents/:document', what: 'an unknown document', status: 400, path: () => '/api/users/me/consents/cookies' },
  { route: 'DELETE /api/users/me/consents/:document', what: 'a document that is not in force', status: 404, path: () => '/api/users/me/consents/terms' },
  { route: 'DELETE /api/users/me', what: 'no password', status: 400, body: {} },
  { route: 'DELETE /api/users/me', what: 'password of the wrong type', status: 400, body: { password: 12345 } },
  { route: 'DELETE /api/users/me', what: 'an unknown key', status: 400, body: { password: 'x', userId: randomUUID() } },
  { route: 'DELETE /api/users/me', what: 'a text/plain body', status: 415, raw: { type: 'text/plain', data: 'password=x' } },
  // Admin
  { route: 'GET /api/admin/users', who: 'admin', what: 'limit=abc', status: 400, query: { limit: 'abc' } },
  { route: 'GET /api/admin/users', who: 'admin', what: 'an unknown role', status: 400, query: { role: 'root' } },
  { route: 'GET /api/admin/users', who: 'admin', what: 'disabled=1', status: 400, query: { disabled: '1' } },
  { route: 'GET /api/admin/users', who: 'admin', what: 'an email filter over 254 characters', status: 400, query: { email: 'a'.repeat(255) } },
  { route: 'GET /api/admin/users', who: 'admin', what: 'a garbage cursor', status: 400, query: { cursor: 'garbage' } },
  { route: 'GET /api/admin/users', who: 'admin', what: 'an unknown query key', status: 400, query: { sort: 'email' } },
  { route: 'PATCH /api/admin/users/:id', who: 'admin', what: 'a malformed id', status: 400, path: () => '/api/admin/users/me', body: { disabled: true } },
  { route: 'PATCH /api/admin/users/:id', who: 'admin', what: 'role of the wrong type', status: 400, path: () => `/api/admin/users/${callers.client.user.id}`, body: { role: 5 } },
  { route: 'PATCH /api/admin/users/:id', who: 'admin', what: 'disabled as a string', status: 400, path: () => `/api/admin/users/${callers.client.user.id}`, body: { disabled: 'yes' } },
  { route: 'PATCH /api/admin/users/:id', who: 'admin', what: 'an empty body', status: 400, path: () => `/api/admin/users/${callers.client.user.id}`, body: {} },
  { route: 'PATCH /api/admin/users/:id', who: 'admin', what: 'an unknown key', status: 400, path: () => `/api/admin/users/${callers.client.user.id}`, body: { disabled: true, email: 'x@example.com' } },
  { route: 'PATCH /api/admin/users/:id', who: 'admin', what: 'a text/plain body', status: 415, path: () => `/api/admin/users/${callers.client.user.id}`, raw: { type: 'text/plain', data: 'disabled=true' } },
  // POST /api/admin/users/:id/mfa/reset
  { route: 'POST /api/admin/users/:id/mfa/reset', who: 'admin', what: 'a malformed id', status: 400, path: () => '/api/admin/users/me/mfa/reset', body: { reason: 'The person lost every factor' } },
  { route: 'POST /api/admin/users/:id/mfa/reset', who: 'admin', what: 'no reason', status: 400, path: () => `/api/admin/users/${callers.client.user.id}/mfa/reset`, body: {} },
  { route: 'POST /api/admin/users/:id/mfa/reset', who: 'admin', what: 'a reason of the wrong type', status: 400, path: () => `/api/admin/users/${callers.client.user.id}/mfa/reset`, body: { reason: ['lost'] } },
  { route: 'POST /api/admin/users/:id/mfa/reset', who: 'admin', what: 'a reason over 500 characters', status: 400, path: () => `/api/admin/users/${callers.client.user.id}/mfa/reset`, body: { reason: 'x'.repeat(501) } },
  { route: 'POST /api/admin/users/:id/mfa/reset', who: 'admin', what: 'a text/plain body', status: 415, path: () => `/api/admin/users/${callers.client.user.id}/mfa/reset`, raw: { type: 'text/plain', data: 'reason=lost' } },
  { route: 'GET /api/admin/security-events', who: 'admin', what: 'an unknown type', status: 400, query: { type: 'everything' } },
  { route: 'GET /api/admin/security-events', who: 'admin', what: 'userId not a uuid', status: 400, query: { userId: '1 OR 1=1' } },
  { route: 'GET /api/admin/security-events', who: 'admin', what: 'ip not an address', status: 400, query: { ip: '999.1.1.1' } },
  { route: 'GET /api/admin/security-events', who: 'admin', what: 'since not a date', status: 400, query: { since: 'last week' } },
  { route: 'GET /api/admin/security-events', who: 'admin', what: 'limit=0', status: 400, query: { limit: 0 } },
  { route: 'GET /api/admin/security-events', who: 'admin', what: 'an unknown query key', status: 400, query: { order: 'asc' } },
  { route: 'GET /api/admin/security-events/suspicious', who: 'admin', what: 'a malformed bearer token', status: 401, headers: { Authorization: 'Bearer a b' } },
  { route: 'POST /api/admin/sessions/:id/access', who: 'admin', what: 'no reason', status: 400, path: () => `/api/admin/sessions/${active}/access`, body: {} },
  { route: 'POST /api/admin/sessions/:id/access', who: 'admin', what: 'a reason under 10 characters', status: 400, path: () => `/api/admin/sessions/${active}/access`, body: { reason: 'because' } },
  { route: 'POST /api/admin/sessions/:id/access', who: 'admin', what: 'a reason over 500 characters', status: 400, path: () => `/api/admin/sessions/${active}/access`, body: { reason: 'x'.repeat(501) } },
  { route: 'POST /api/admin/sessions/:id/access', who: 'admin', what: 'a malformed id', status: 400, path: () => '/api/admin/sessions/abc/access', body: { reason: 'a long enough reason' } },
  // Files
  { route: 'POST /api/sessions/:id/attachments', what: 'a malformed id', status: 400, path: () => '/api/sessions/abc/attachments', raw: NO_FILE_PART },
  { route: 'POST /api/sessions/:id/attachments', what: 'a JSON body', status: 400, path: sessionPath('/attachments'), body: { file: 'aGVsbG8=' } },
  { route: 'POST /api/sessions/:id/attachments', what: 'a form without a file part', status: 400, path: sessionPath('/attachments'), raw: NO_FILE_PART },
  { route: 'POST /api/sessions/:id/attachments', what: 'a body that is not multipart inside', status: 400, path: sessionPath('/attachments'), raw: NOT_MULTIPART },
  { route: 'POST /api/sessions/:id/attachments', what: 'an unknown session', status: 404, path: () => `/api/sessions/${randomUUID()}/attachments`, raw: NO_FILE_PART },
  { route: 'GET /api/sessions/:id/attachments', what: 'a malformed id', status: 400, path: () => '/api/sessions/abc/attachments' },
  { route: 'GET /api/sessions/:id/attachments', what: 'an unknown session', status: 404, path: () => `/api/sessions/${randomUUID()}/attachments` },
  { route: 'POST /api/files/presign', what: 'an unknown target', status: 400, path: () => '/api/files/presign', body: { target: 'banner', contentType: 'image/png', size: 10 } },
  { route: 'POST /api/files/presign', what: 'size 0', status: 400, path: () => '/api/files/presign', body: { target: 'avatar', contentType: 'image/png', size: 0 } },
  { route: 'POST /api/files/presign', what: 'size as a string', status: 400, path: () => '/api/files/presign', body: { target: 'avatar', contentType: 'image/png', size: '10' } },
  { route: 'POST /api/files/presign', what: 'a client-chosen key', status: 400, path: () => '/api/files/presign', body: { target: 'avatar', contentType: 'image/png', size: 10, key: '../../etc/passwd' } },
  { route: 'POST /api/files/presign', what: 'an SVG', status: 415, path: () => '/api/files/presign', body: { target: 'avatar', contentType: 'image/svg+xml', size: 10 } },
  { route: 'POST /api/files/presign', what: 'organizationId not a uuid', status: 400, path: () => '/api/files/presign', body: { target: 'orgLogo', organizationId: '../x', contentType: 'image/png', size: 10 } },
  { route: 'POST /api/files/presign', what: 'a text/plain body', status: 415, path: () => '/api/files/presign', raw: PLAIN },
  { route: 'POST /api/files/register', what: 'no storageKey', status: 400, path: () => '/api/files/register', body: {} },
  { route: 'POST /api/files/register', what: 'storageKey a number', status: 400, path: () => '/api/files/register', body: { storageKey: 5 } },
  { route: 'POST /api/files/register', what: 'a traversal key', status: 404, path: () => '/api/files/register', body: { storageKey: '../avatars/x.png' } },
  { route: 'POST /api/files/register', what: 'an absolute key', status: 404, path: () => '/api/files/register', body: { storageKey: '/etc/passwd' } },
  { route: 'GET /api/files/:fileId', what: 'a malformed id', status: 400, path: () => '/api/files/..%2F..%2Fetc' },
  { route: 'GET /api/files/:fileId', what: 'an unknown file', status: 404, path: () => `/api/files/${randomUUID()}` },
  { route: 'GET /api/files/:fileId/stream', what: 'a malformed id', status: 400, path: () => '/api/files/abc/stream' },
  { route: 'GET /api/files/:fileId/stream', what: 'an unknown file', status: 404, path: () => `/api/files/${randomUUID()}/stream` },
  { route: 'DELETE /api/files/:fileId', what: 'a malformed id', status: 400, path: () => '/api/files/abc' },
  { route: 'POST /api/files/local/uploads', what: 'a JSON body', status: 400, path: () => '/api/files/local/uploads', body: { key: 'avatars/x.png' } },
  { route: 'POST /api/files/local/uploads', what: 'a form without a policy', status: 400, path: () => '/api/files/local/uploads', raw: NO_FILE_PART },
  { route: 'GET /api/files/local/objects/:token', what: 'a malformed token', status: 400, path: () => '/api/files/local/objects/abc' },
  { route: 'GET /api/files/local/objects/:token', what: 'a forged token', status: 403, path: () => '/api/files/local/objects/eyJrZXkiOiIuLi8uLi9ldGMvcGFzc3dkIn0.AAAA' },
  { route: 'POST /api/admin/sessions/:id/access', who: 'admin', what: 'an unknown session', status: 404, path: () => `/api/admin/sessions/${randomUUID()}/access`, body: { reason: 'a long enough reason' } },
];

function send(c: Case) {
  const [method, template] = c.route.split(' ') as [string, string];
  const verb = method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
  let req = request(t.app)[verb](c.path ? c.path() : template).set('Authorization', callers[c.who ?? 'client'].auth);
  for (const [name, value] of Object.entries(c.headers ?? {})) req = req.set(name, value);
  if (c.query !== undefined) req = req.query(c.query as Record<string, string>);
  if (c.raw) return req.set('Content-Type', c.raw.type).send(c.raw.data);
  return c.body === undefined ? req : req.send(c.body as object);
}

/** Everything a domain request could have written. */
async function snapshot(): Promise<string> {
  const tables = await Promise.all(DOMAIN_TABLES.map((table) => t.sequelize.query(`SELECT * FROM ${table}`, { type: QueryTypes.SELECT })));
  return JSON.stringify(tables.map((rows) => rows.map((row) => JSON.stringify(row)).sort()));
}

function domainRoutes(): string[] {
  interface RouterLayer {
    rawPath?: unknown;
    route?: { path: string; methods: Record<string, boolean> };
    handle: { stack?: RouterLayer[] };
  }
  const walk = (stack: RouterLayer[], prefix: string): string[] =>
    stack.flatMap((layer) => {
      if (layer.route) return Object.keys(layer.route.methods).map((method) => `${method.toUpperCase()} ${prefix}${layer.route!.path === '/' ? '' : layer.route!.path}`);
      if (layer.handle.stack) return walk(layer.handle.stack, prefix + (layer.rawPath === '/' ? '' : String(layer.rawPath)));
      return [];
    });
  const app = t.app as unknown as { router: { stack: RouterLayer[] } };
  return walk(app.router.stack, '').filter((route) => DOMAIN_PREFIXES.some((prefix) => route.split(' ')[1]!.startsWith(prefix)));
}

describe('bad input on the domain API', () => {
  it('has cases for every route of the domain API', () => {
    const covered = new Set(CASES.map((c) => c.route));

    expect(domainRoutes().filter((route) => !covered.has(route))).toEqual([]);
    expect([...covered].filter((route) => !domainRoutes().includes(route))).toEqual([]);
  });

  for (const c of CASES) {
    it(`${c.route}: ${c.what} → ${c.status} problem, nothing written`, async () => {
      const before = await snapshot();

      const res = await send(c);

      expect({ status: res.status, body: res.body }).toMatchObject({ status: c.status });
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: c.status, code: expect.stringMatching(/^[A-Z_]+$/), requestId: expect.any(String) });
      expect(JSON.stringify(res.body)).not.toMatch(/SELECT|Sequelize|at \/|\.ts:/);
      expect(await snapshot()).toBe(before);
    });
  }
});

describe('text containing a NUL character', () => {
  // Valid JSON and valid Unicode, but PostgreSQL cannot keep U+0000 in text. Refusing it (4xx)
  // or storing it faithfully are both fine; a 5xx or a silently altered value is not.
  const NUL = 'before\u0000after';
  const as = (who: Who) => ({ Authorization: callers[who].auth });
  const fresh = async () =>
    (
      await t.context.models.CounselingSession.create({
        userId: callers.client.user.id,
        counselorId: null,
        topic: null,
        startedAt: new Date(Date.now() - 60_000),
        lastResumedAt: new Date(),
      })
    ).id;

  /** Sends the text, then reads back what was stored (when the request was accepted). */
  const CASES: [string, () => Promise<{ status: number; stored?: () => Promise<unknown> }>][] = [
    ['a session topic', async () => {
      const res = await request(t.app).post('/api/sessions').set(as('client')).send({ topic: NUL });
      return { status: res.status, stored: async () => (await request(t.app).get(`/api/sessions/${res.body.id}`).set(as('client'))).body.topic };
    }],
    ['a note', async () => {
      const id = await fresh();
      const res = await request(t.app).post(`/api/sessions/${id}/entries`).set(as('client')).send({ kind: 'note', text: NUL });
      return { status: res.status, stored: async () => (await request(t.app).get(`/api/sessions/${id}/entries`).set(as('client'))).body.items[0]?.text };
    }],
    ['a profile name', async () => {
      const res = await request(t.app).patch('/api/users/me').set(as('client')).send({ name: NUL });
      return { status: res.status, stored: async () => (await request(t.app).get('/api/users/me').set(as('client'))).body.name };
    }],
    ['a feedback comment', async () => {
      const id = await fresh();
      await request(t.app).post(`/api/sessions/${id}/end`).set(as('client')).expect(200);
      const res = await request(t.app).post(`/api/sessions/${id}/feedback`).set(as('client')).send({ rating: 3, comment: NUL });
      return { status: res.status, stored: async () => (await request(t.app).get(`/api/sessions/${id}/report`).set(as('client'))).body.feedback?.comment };
    }],
    ['an admin email filter', async () => ({ status: (await request(t.app).get('/api/admin/users').set(as('admin')).query({ email: NUL })).status })],
  ];

  it.each(CASES)('in %s is refused with a 4xx or stored unchanged, never a 5xx', async (_what, act) => {
    const { status, stored } = await act();

    expect(status).toBeLessThan(500);
    if (status < 300 && stored) expect(await stored()).toBe(NUL);
  });
});
