import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newLinkToken } from '../../src/crypto/link-tokens.js';
import type { SessionStatus } from '../../src/models/counseling-session.model.js';
import type { OrgRole } from '../../src/models/membership.model.js';
import type { Role } from '../../src/models/user.model.js';
import { MOUNTS } from '../../src/routes.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { factories } from '../helpers/factories.js';
import { attach, multipart, PDF, PNG, sendPresignedPost } from '../helpers/files.js';
import { enrolTotp, nextTotpCode, totpCode } from '../helpers/mfa.js';
import { createUser, login, TEST_PASSWORD, type TestUser } from '../helpers/users.js';
import { SoftAuthenticator } from '../helpers/webauthn.js';

/**
 * Who may call what: every route of the app × every kind of caller, against the real app.
 * The table's keys must equal the routes Express actually has, so a new route cannot be
 * mounted without deciding (here) who may call it.
 */

const STRONG = 'quartz-meadow-lantern-violin-83';
/** Shaped like a one-time token from a mail link, but never issued. */
const UNKNOWN_TOKEN = 'A'.repeat(43);

/**
 * The callers, each a real signed-in account: `client` owns the shared session and is a
 * client of practice A, in the care of `counselor`; `otherCounselor` counsels in A but not
 * this client; `orgOwner`, `orgAdmin` and `manager` run A; `outsider` owns practice B;
 * `stranger` belongs to no organization; `admin` is a platform admin and no member of A.
 */
const ACTORS = ['anonymous', 'client', 'counselor', 'otherCounselor', 'orgOwner', 'orgAdmin', 'manager', 'outsider', 'stranger', 'admin'] as const;
type ActorName = (typeof ACTORS)[number];
type Member = Exclude<ActorName, 'anonymous'>;
const ROLE_OF: Record<Member, Role> = {
  client: 'user',
  counselor: 'counselor',
  otherCounselor: 'counselor',
  orgOwner: 'user',
  orgAdmin: 'user',
  manager: 'user',
  outsider: 'user',
  stranger: 'user',
  admin: 'admin',
};
/** Their roles in practice A (the outsider's is in B). */
const ORG_ROLE_OF: Partial<Record<Member, OrgRole>> = { client: 'client', counselor: 'counselor', otherCounselor: 'counselor', orgOwner: 'owner', orgAdmin: 'admin', manager: 'manager' };

interface Identity {
  user: TestUser;
  auth: string;
}

/** One request of a case; `auth: null` sends no Authorization header whatever the actor. */
interface Call {
  path: string;
  body?: object;
  auth?: string | null;
  headers?: Record<string, string>;
}

interface Row {
  expected: Record<ActorName, number>;
  build: (actor: ActorName) => Promise<Call>;
}

let t: TestApp;
let make: ReturnType<typeof factories>;
const who = {} as Record<Member, Identity>;
/** A spare account whose credentials stand in for "somebody's valid refresh token / password". */
let spare: TestUser;
/** Practice A, where the shared session is held. */
let orgA: string;
/** The one shared session, only read by the matrix: client's, with counselor, in practice A. */
let shared: string;
/** An attachment of the shared session, uploaded by the client. */
let sharedFile: string;
/** Admin PATCH target: `{ disabled: false }` on an enabled user changes nothing. */
let target: TestUser;

async function identity(role: Role): Promise<Identity> {
  const user = await createUser(t, { role });
  return { user, auth: `Bearer ${(await login(t, user)).accessToken}` };
}

/** A session of `client` with `counselor` in practice A, straight in the database, in the given state. */
async function counselingSession(status: SessionStatus = 'active'): Promise<string> {
  const row = await make.session({ userId: who.client.user.id, counselorId: who.counselor.user.id, organizationId: orgA, topic: 'matrix', status, startedAt: new Date(Date.now() - 60_000) });
  return row.id;
}

/** A new member of practice A with the given role, for routes that change or remove one. */
async function newMember(role: OrgRole): Promise<TestUser> {
  const user = await createUser(t, { role: role === 'counselor' ? 'counselor' : 'user' });
  await make.member(orgA, user.id, role);
  return user;
}

/** A practice of its own in which the actor holds the role they hold in A, for deleting one; clients only when the actor is one. */
async function practiceLikeA(actor: ActorName): Promise<string> {
  const organization = await make.organization();
  for (const [member, role] of Object.entries(ORG_ROLE_OF) as [Member, OrgRole][]) {
    if (role !== 'client' || member === actor) await make.member(organization.id, who[member].user.id, role);
  }
  if (actor === 'outsider') await make.member((await make.organization()).id, who.outsider.user.id, 'owner');
  return organization.id;
}

/** A pending invitation whose token we know, as if it had been mailed. */
async function invitation(organizationId: string, email: string, invitedBy: string): Promise<{ id: string; token: string }> {
  const { token, hash } = newLinkToken();
  const row = await t.context.models.Invitation.create({ organizationId, email, role: 'client', counselorId: null, invitedBy, tokenHash: hash, expiresAt: new Date(Date.now() + 86_400_000) });
  return { id: row.id, token };
}

/** [anonymous, client, counselor, otherCounselor, orgOwner, orgAdmin, manager, outsider, stranger, admin] */
type Statuses = [number, number, number, number, number, number, number, number, number, number];
function row(statuses: Statuses, build: Row['build']): Row {
  return { expected: Object.fromEntries(ACTORS.map((actor, i) => [actor, statuses[i]])) as Row['expected'], build };
}

const fixed = (path: string, body?: object) => async (): Promise<Call> => ({ path, body });
/** A session route on the shared session (reads) or on a fresh one in `status` (writes). */
const onSession = (suffix: string, options: { fresh?: SessionStatus; body?: object } = {}) =>
  async function sessionCall(): Promise<Call> {
    const id = options.fresh ? await counselingSession(options.fresh) : shared;
    return { path: `/api/sessions/${id}${suffix}`, body: options.body };
  };
/** A multipart upload body, sent as a Buffer with its boundary. */
const upload = (path: string) => async (): Promise<Call> => {
  const { body, contentType } = multipart([{ name: 'file', filename: 'matrix.pdf', data: PDF, contentType: 'application/pdf' }]);
  return { path, body, headers: { 'Content-Type': contentType } };
};
const inA = (suffix: string, body?: object) => async (): Promise<Call> => ({ path: `/api/organizations/${orgA}${suffix}`, body });
const memberOf = (actor: ActorName) => (actor === 'anonymous' ? undefined : who[actor]);
const authenticator = new SoftAuthenticator('http://localhost:5173');
/** A passkey registered over HTTP for the account behind `auth`. */
async function addPasskey(auth: string) {
  const options = await request(t.app).post('/api/auth/passkeys/register/options').set('Authorization', auth).expect(200);
  const { passkey, response } = authenticator.create(options.body);
  const created = await request(t.app).post('/api/auth/passkeys/register/verify').set('Authorization', auth).send({ response }).expect(201);
  return { passkey, id: created.body.id as string };
}
/** A route on one of the caller's own passkeys: a fresh account of the same role with one. */
const ownPasskey = (suffix: string, body?: object) =>
  async function passkeyCall(actor: ActorName): Promise<Call> {
    if (actor === 'anonymous') return { path: `/api/auth/passkeys/${randomUUID()}${suffix}`, body };
    const fresh = await identity(ROLE_OF[actor]);
    const { id } = await addPasskey(fresh.auth);
    return { path: `/api/auth/passkeys/${id}${suffix}`, body, auth: fresh.auth };
  };
/** A route that changes the caller's own second factors: a fresh account of the same role, with an authenticator app when `withTotp`. */
const ownFactors = (path: string, options: { withTotp?: boolean; body?: object } = {}) =>
  async function factorCall(actor: ActorName): Promise<Call> {
    if (actor === 'anonymous') return { path, body: options.body };
    const fresh = await identity(ROLE_OF[actor]);
    if (options.withTotp) await enrolTotp(t, fresh.auth);
    return { path, body: options.body, auth: fresh.auth };
  };

// prettier-ignore
const MATRIX: Record<string, Row> = {
  //                                         anon clnt cnsl othC ownr oadm mngr outs strg admin
  'GET /':                              row([200, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/')),
  'GET /health':                        row([200, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/health')),
  'GET /health/ready':                  row([200, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/health/ready')),
  'GET /.well-known/jwks.json':         row([200, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/.well-known/jwks.json')),

  'POST /api/auth/register':            row([202, 202, 202, 202, 202, 202, 202, 202, 202, 202], async () => ({
    path: '/api/auth/register', body: { email: `matrix-${randomUUID().slice(0, 8)}@example.com`, password: STRONG, name: 'Matrix Person' },
  })),
  'POST /api/auth/login':               row([200, 200, 200, 200, 200, 200, 200, 200, 200, 200], async () => ({
    path: '/api/auth/login', body: { email: spare.email, password: TEST_PASSWORD, transport: 'body' },
  })),
  'POST /api/auth/refresh':             row([200, 200, 200, 200, 200, 200, 200, 200, 200, 200], async (actor) => ({
    path: '/api/auth/refresh', body: { refreshToken: (await login(t, memberOf(actor)?.user ?? spare)).refreshToken },
  })),
  // A bearer logs out its own (fresh) session; without one, the refresh token names the session.
  'POST /api/auth/logout':              row([204, 204, 204, 204, 204, 204, 204, 204, 204, 204], async (actor) => {
    const issued = await login(t, memberOf(actor)?.user ?? spare);
    return actor === 'anonymous'
      ? { path: '/api/auth/logout', body: { refreshToken: issued.refreshToken } }
      : { path: '/api/auth/logout', auth: `Bearer ${issued.accessToken}` };
  }),
  // Ends every session of the caller: a fresh account of the same role, so the shared tokens live on.
  'POST /api/auth/logout-all':          row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], async (actor) =>
    actor === 'anonymous' ? { path: '/api/auth/logout-all' } : { path: '/api/auth/logout-all', auth: (await identity(ROLE_OF[actor])).auth }),
  'GET /api/auth/me':                   row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/auth/me')),
  'GET /api/auth/sessions':             row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/auth/sessions')),
  'DELETE /api/auth/sessions/:id':      row([401, 204, 204, 204, 204, 204, 204, 204, 204, 204], async (actor) => {
    const member = memberOf(actor);
    return { path: `/api/auth/sessions/${member ? (await login(t, member.user)).session.id : randomUUID()}` };
  }),
  // The CSRF token is the refresh cookie's business, whoever else the caller is.
  'GET /api/auth/csrf':                 row([200, 200, 200, 200, 200, 200, 200, 200, 200, 200], async () => {
    const res = await request(t.app).post('/api/auth/login').send({ email: spare.email, password: TEST_PASSWORD }).expect(200);
    const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []).map((cookie) => cookie.split(';')[0]);
    return { path: '/api/auth/csrf', headers: { Cookie: cookies.join('; ') } };
  }),
  // Public recovery routes answer everybody alike: an unknown (well-formed) token is a 400, a mail request a 202.
  'POST /api/auth/verify-email':        row([400, 400, 400, 400, 400, 400, 400, 400, 400, 400], fixed('/api/auth/verify-email', { token: UNKNOWN_TOKEN })),
  'POST /api/auth/resend-verification': row([202, 202, 202, 202, 202, 202, 202, 202, 202, 202], async () => ({ path: '/api/auth/resend-verification', body: { email: spare.email } })),
  'POST /api/auth/forgot-password':     row([202, 202, 202, 202, 202, 202, 202, 202, 202, 202], async () => ({ path: '/api/auth/forgot-password', body: { email: spare.email } })),
  'POST /api/auth/reset-password':      row([400, 400, 400, 400, 400, 400, 400, 400, 400, 400], fixed('/api/auth/reset-password', { token: UNKNOWN_TOKEN, password: STRONG })),
  // Changes the caller's password and ends their other sessions: a fresh account of the same role.
  'POST /api/auth/change-password':     row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], async (actor) => ({
    path: '/api/auth/change-password',
    body: { currentPassword: TEST_PASSWORD, newPassword: STRONG },
    ...(actor !== 'anonymous' && { auth: (await identity(ROLE_OF[actor])).auth }),
  })),
  // Second factors: the caller's own, on fresh accounts so the shared identities keep signing in with a password alone.
  // Completes somebody's password sign-in with their code: the challenge is the credential, whoever sends it.
  'POST /api/auth/magic-link':          row([202, 202, 202, 202, 202, 202, 202, 202, 202, 202], async () => ({ path: '/api/auth/magic-link', body: { email: spare.email } })),
  'POST /api/auth/magic-link/verify':   row([400, 400, 400, 400, 400, 400, 400, 400, 400, 400], fixed('/api/auth/magic-link/verify', { token: UNKNOWN_TOKEN })),
  'POST /api/auth/magic-link/reauthenticate': row([401, 400, 400, 400, 400, 400, 400, 400, 400, 400], fixed('/api/auth/magic-link/reauthenticate', { token: UNKNOWN_TOKEN })),
  // Every caller here has a password already: the route is reached, and refuses to add another.
  'POST /api/auth/password':            row([401, 409, 409, 409, 409, 409, 409, 409, 409, 409], fixed('/api/auth/password', { password: STRONG })),
  // No provider is configured here: the routes are reached (404 for the unknown provider, 400 for a state or code never issued).
  'GET /api/auth/oidc/providers':       row([200, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/auth/oidc/providers')),
  'GET /api/auth/oidc/:provider/start': row([404, 404, 404, 404, 404, 404, 404, 404, 404, 404], fixed('/api/auth/oidc/matrix/start')),
  'GET /api/auth/oidc/:provider/callback': row([400, 400, 400, 400, 400, 400, 400, 400, 400, 400], fixed(`/api/auth/oidc/matrix/callback?code=x&state=${UNKNOWN_TOKEN}`)),
  'POST /api/auth/oidc/exchange':       row([400, 400, 400, 400, 400, 400, 400, 400, 400, 400], fixed('/api/auth/oidc/exchange', { code: UNKNOWN_TOKEN })),
  'POST /api/auth/oidc/:provider/link': row([401, 404, 404, 404, 404, 404, 404, 404, 404, 404], fixed('/api/auth/oidc/matrix/link', {})),
  'GET /api/auth/identities':           row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/auth/identities')),
  'DELETE /api/auth/identities/:id':    row([401, 204, 204, 204, 204, 204, 204, 204, 204, 204], async (actor) => {
    if (actor === 'anonymous') return { path: `/api/auth/identities/${randomUUID()}` };
    const fresh = await identity(ROLE_OF[actor]);
    const linked = await t.context.models.OidcIdentity.create({ userId: fresh.user.id, provider: 'matrix', issuer: 'https://idp.example', subject: randomUUID(), email: null });
    return { path: `/api/auth/identities/${linked.id}`, auth: fresh.auth };
  }),
  'POST /api/auth/mfa/verify':          row([200, 200, 200, 200, 200, 200, 200, 200, 200, 200], async () => {
    const person = await createUser(t);
    const { secret } = await enrolTotp(t, `Bearer ${(await login(t, person)).accessToken}`);
    const step = await request(t.app).post('/api/auth/login').send({ email: person.email, password: TEST_PASSWORD, transport: 'body' }).expect(200);
    return { path: '/api/auth/mfa/verify', body: { challenge: step.body.challenge, code: await nextTotpCode(secret) } };
  }),
  'POST /api/auth/reauthenticate':      row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/auth/reauthenticate', { password: TEST_PASSWORD })),
  'POST /api/auth/passkeys/register/options': row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/auth/passkeys/register/options')),
  'POST /api/auth/passkeys/register/verify': row([401, 201, 201, 201, 201, 201, 201, 201, 201, 201], async (actor) => {
    if (actor === 'anonymous') return { path: '/api/auth/passkeys/register/verify', body: {} };
    const fresh = await identity(ROLE_OF[actor]);
    const options = await request(t.app).post('/api/auth/passkeys/register/options').set('Authorization', fresh.auth).expect(200);
    return { path: '/api/auth/passkeys/register/verify', body: { response: authenticator.create(options.body).response }, auth: fresh.auth };
  }),
  'GET /api/auth/passkeys':             row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/auth/passkeys')),
  'PATCH /api/auth/passkeys/:id':       row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], ownPasskey('', { name: 'Matrix key' })),
  'DELETE /api/auth/passkeys/:id':      row([401, 204, 204, 204, 204, 204, 204, 204, 204, 204], ownPasskey('')),
  // Signing in with a passkey is public: the passkey is the credential, whoever sends the assertion.
  'POST /api/auth/passkeys/login/options': row([200, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/auth/passkeys/login/options')),
  'POST /api/auth/passkeys/login/verify': row([200, 200, 200, 200, 200, 200, 200, 200, 200, 200], async () => {
    const person = await createUser(t);
    const { passkey } = await addPasskey(`Bearer ${(await login(t, person)).accessToken}`);
    const options = await request(t.app).post('/api/auth/passkeys/login/options').expect(200);
    return { path: '/api/auth/passkeys/login/verify', body: { response: authenticator.get(passkey, options.body), transport: 'body' } };
  }),
  'GET /api/auth/mfa':                  row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/auth/mfa')),
  'POST /api/auth/mfa/totp/setup':      row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], ownFactors('/api/auth/mfa/totp/setup')),
  'POST /api/auth/mfa/totp/confirm':    row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], async (actor) => {
    if (actor === 'anonymous') return { path: '/api/auth/mfa/totp/confirm', body: { code: '123456' } };
    const fresh = await identity(ROLE_OF[actor]);
    const setup = await request(t.app).post('/api/auth/mfa/totp/setup').set('Authorization', fresh.auth).expect(200);
    return { path: '/api/auth/mfa/totp/confirm', body: { code: await totpCode(setup.body.secret) }, auth: fresh.auth };
  }),
  'DELETE /api/auth/mfa/totp':          row([401, 204, 204, 204, 204, 204, 204, 204, 204, 204], ownFactors('/api/auth/mfa/totp', { withTotp: true })),
  'POST /api/auth/mfa/recovery-codes':  row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], ownFactors('/api/auth/mfa/recovery-codes', { withTotp: true })),

  'POST /api/sessions':                 row([401, 201, 201, 201, 201, 201, 201, 201, 201, 201], fixed('/api/sessions', { topic: 'matrix' })),
  'GET /api/sessions':                  row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/sessions')),
  'GET /api/sessions/:id':              row([401, 200, 200, 404, 200, 200, 200, 404, 404, 200], onSession('')),
  'DELETE /api/sessions/:id':           row([401, 204, 403, 404, 403, 403, 403, 404, 404, 204], onSession('', { fresh: 'active' })),
  'POST /api/sessions/:id/pause':       row([401, 200, 200, 404, 403, 403, 403, 404, 404, 200], onSession('/pause', { fresh: 'active' })),
  'POST /api/sessions/:id/resume':      row([401, 200, 200, 404, 403, 403, 403, 404, 404, 200], onSession('/resume', { fresh: 'paused' })),
  'POST /api/sessions/:id/end':         row([401, 200, 200, 404, 403, 403, 403, 404, 404, 200], onSession('/end', { fresh: 'active' })),
  'POST /api/sessions/:id/entries':     row([401, 201, 201, 404, 403, 403, 403, 404, 404, 403], onSession('/entries', { fresh: 'active', body: { kind: 'note', text: 'matrix note' } })),
  'GET /api/sessions/:id/entries':      row([401, 200, 200, 404, 403, 403, 403, 404, 404, 403], onSession('/entries')),
  'POST /api/sessions/:id/feedback':    row([401, 201, 403, 404, 403, 403, 403, 404, 404, 403], onSession('/feedback', { fresh: 'ended', body: { rating: 4 } })),
  'GET /api/sessions/:id/report':       row([401, 200, 200, 404, 200, 200, 200, 404, 404, 200], onSession('/report')),
  // A WebSocket endpoint: a plain GET is 426 for everyone; who may follow what over the socket is test/api/live.test.ts.
  'GET /api/live':                      row([426, 426, 426, 426, 426, 426, 426, 426, 426, 426], fixed('/api/live')),

  // Files: attachments follow the session's need-to-know rule; images are the caller's own.
  'POST /api/sessions/:id/attachments': row([401, 201, 201, 404, 403, 403, 403, 404, 404, 403], async () => upload(`/api/sessions/${await counselingSession('active')}/attachments`)()),
  'GET /api/sessions/:id/attachments':  row([401, 200, 200, 404, 200, 200, 200, 404, 404, 200], onSession('/attachments')),
  'POST /api/files/presign':            row([401, 201, 201, 201, 201, 201, 201, 201, 201, 201], fixed('/api/files/presign', { target: 'avatar', contentType: 'image/png', size: PNG.length })),
  // Each caller registers an avatar they were issued and uploaded.
  'POST /api/files/register':           row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], async (actor) => {
    const member = memberOf(actor);
    if (!member) return { path: '/api/files/register', body: { storageKey: `avatars/${randomUUID()}/${randomUUID()}.png` } };
    const issued = await request(t.app).post('/api/files/presign').set('Authorization', member.auth).send({ target: 'avatar', contentType: 'image/png', size: PNG.length }).expect(201);
    await sendPresignedPost(t, issued.body.upload, PNG).expect(204);
    return { path: '/api/files/register', body: { storageKey: issued.body.storageKey } };
  }),
  'GET /api/files/:fileId':             row([401, 200, 200, 404, 200, 200, 200, 404, 404, 200], async () => ({ path: `/api/files/${sharedFile}` })),
  'GET /api/files/:fileId/stream':      row([401, 200, 200, 404, 403, 403, 403, 404, 404, 403], async () => ({ path: `/api/files/${sharedFile}/stream` })),
  // A fresh attachment of the counselor's: the uploader, the session's client and a platform admin delete it.
  'DELETE /api/files/:fileId':          row([401, 204, 204, 404, 403, 403, 403, 404, 404, 204], async () => {
    const res = await attach(t, who.counselor.auth, shared, { data: PDF }).expect(201);
    return { path: `/api/files/${res.body.id}` };
  }),
  // The local adapter's endpoints: the signed policy or URL is the credential, whoever sends it.
  'POST /api/files/local/uploads':      row([403, 403, 403, 403, 403, 403, 403, 403, 403, 403], async () => {
    const { body, contentType } = multipart([{ name: 'key', value: 'avatars/x/y.png' }, { name: 'policy', value: 'forged.policy' }, { name: 'file', filename: 'a.png', data: PNG }]);
    return { path: '/api/files/local/uploads', body, headers: { 'Content-Type': contentType } };
  }),
  'GET /api/files/local/objects/:token': row([403, 403, 403, 403, 403, 403, 403, 403, 403, 403], fixed('/api/files/local/objects/forged.token')),

  'POST /api/organizations':            row([401, 201, 201, 201, 201, 201, 201, 201, 201, 201], async () => ({ path: '/api/organizations', body: { name: 'Matrix Practice', slug: `matrix-${randomUUID().slice(0, 8)}` } })),
  'GET /api/organizations':             row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/organizations')),
  'GET /api/organizations/:id':         row([401, 200, 200, 200, 200, 200, 200, 404, 404, 200], inA('')),
  'PATCH /api/organizations/:id':       row([401, 403, 403, 403, 200, 200, 403, 404, 404, 403], inA('', { name: 'Practice A' })),
  'DELETE /api/organizations/:id':      row([401, 403, 403, 403, 204, 403, 403, 404, 404, 403], async (actor) => ({ path: `/api/organizations/${await practiceLikeA(actor)}` })),
  'GET /api/organizations/:id/members': row([401, 403, 403, 403, 200, 200, 200, 404, 404, 403], inA('/members')),
  'PATCH /api/organizations/:id/members/:userId': row([401, 403, 403, 403, 200, 200, 200, 404, 404, 403], async () => ({
    path: `/api/organizations/${orgA}/members/${(await newMember('client')).id}`, body: { role: 'manager' },
  })),
  'DELETE /api/organizations/:id/members/:userId': row([401, 403, 403, 403, 204, 204, 204, 404, 404, 403], async () => ({
    path: `/api/organizations/${orgA}/members/${(await newMember('client')).id}`,
  })),
  // Counselors invite clients into their own care; the address is new every time.
  'POST /api/organizations/:id/invitations': row([401, 403, 201, 201, 201, 201, 201, 404, 404, 403], async () => ({
    path: `/api/organizations/${orgA}/invitations`, body: { email: `invitee-${randomUUID().slice(0, 8)}@example.com`, role: 'client' },
  })),
  'GET /api/organizations/:id/invitations': row([401, 403, 200, 200, 200, 200, 200, 404, 404, 403], inA('/invitations')),
  // An invitation the owner sent: a counselor may revoke only their own.
  'DELETE /api/organizations/:id/invitations/:invitationId': row([401, 403, 404, 404, 204, 204, 204, 404, 404, 403], async () => ({
    path: `/api/organizations/${orgA}/invitations/${(await invitation(orgA, `revoked-${randomUUID().slice(0, 8)}@example.com`, who.orgOwner.user.id)).id}`,
  })),
  'POST /api/organizations/:id/care':   row([401, 403, 403, 403, 201, 201, 201, 404, 404, 403], async () => ({
    path: `/api/organizations/${orgA}/care`, body: { counselorId: who.counselor.user.id, clientId: (await newMember('client')).id },
  })),
  'GET /api/organizations/:id/care':    row([401, 200, 200, 200, 200, 200, 200, 404, 404, 403], inA('/care')),
  // A fresh relationship of the client with otherCounselor: either side or the staff end it.
  'DELETE /api/organizations/:id/care/:careId': row([401, 204, 404, 204, 204, 204, 204, 404, 404, 403], async () => {
    await t.context.models.CareRelationship.update({ endedAt: new Date() }, { where: { organizationId: orgA, counselorId: who.otherCounselor.user.id, endedAt: null } });
    const care = await make.care(orgA, who.otherCounselor.user.id, who.client.user.id);
    return { path: `/api/organizations/${orgA}/care/${care.id}` };
  }),
  'GET /api/organizations/:id/dashboard': row([401, 403, 403, 403, 200, 200, 200, 404, 404, 200], inA('/dashboard')),
  'GET /api/organizations/:id/security-events': row([401, 403, 403, 403, 200, 200, 403, 404, 404, 403], inA('/security-events')),
  // Each caller accepts an invitation to their own address into a practice of its own.
  'POST /api/invitations/accept':       row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], async (actor) => {
    const organization = await make.organization();
    const email = memberOf(actor)?.user.email ?? spare.email;
    return { path: '/api/invitations/accept', body: { token: (await invitation(organization.id, email, who.orgOwner.user.id)).token } };
  }),

  'GET /api/dashboard/summary':         row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/dashboard/summary')),

  'GET /api/users/me':                  row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/users/me')),
  'PATCH /api/users/me':                row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/users/me', { name: 'Matrix Renamed' })),
  'GET /api/users/me/preferences':      row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/users/me/preferences')),
  'PUT /api/users/me/preferences':      row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/users/me/preferences', { theme: 'dark' })),
  'GET /api/users/me/security-events':  row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/users/me/security-events')),
  'GET /api/users/me/export':           row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/users/me/export')),
  // Each caller starts the one export of their own (202); the archive is built in the background.
  'POST /api/users/me/exports':         row([401, 202, 202, 202, 202, 202, 202, 202, 202, 202], fixed('/api/users/me/exports')),
  // An export of the caller's own, straight in the database (the anonymous call names the spare's).
  'GET /api/users/me/exports/:id':      row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], async (actor) => {
    const owner = actor === 'anonymous' ? spare : who[actor].user;
    const { id } = await t.context.models.DataExport.create({ id: randomUUID(), userId: owner.id, status: 'failed', expiresAt: new Date(Date.now() + 3_600_000) });
    return { path: `/api/users/me/exports/${id}` };
  }),
  // The signed link is the credential: a forged one is refused whoever calls.
  'GET /api/exports/:id/archive':       row([403, 403, 403, 403, 403, 403, 403, 403, 403, 403], fixed(`/api/exports/${randomUUID()}/archive?token=forged.token`)),
  // No CONSENT_DOCUMENTS here: every caller sees an empty list, and no document to accept or withdraw.
  'GET /api/users/me/consents':         row([401, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/users/me/consents')),
  'POST /api/users/me/consents':        row([401, 422, 422, 422, 422, 422, 422, 422, 422, 422], fixed('/api/users/me/consents', { document: 'terms', version: '1' })),
  'DELETE /api/users/me/consents/:document': row([401, 404, 404, 404, 404, 404, 404, 404, 404, 404], fixed('/api/users/me/consents/terms')),
  // Deletes the caller: a fresh account of the same role.
  'DELETE /api/users/me':               row([401, 204, 204, 204, 204, 204, 204, 204, 204, 204], async (actor) => ({
    path: '/api/users/me',
    body: { password: TEST_PASSWORD },
    ...(actor !== 'anonymous' && { auth: (await identity(ROLE_OF[actor])).auth }),
  })),

  'GET /api/admin/users':               row([401, 403, 403, 403, 403, 403, 403, 403, 403, 200], fixed('/api/admin/users')),
  'PATCH /api/admin/users/:id':         row([401, 403, 403, 403, 403, 403, 403, 403, 403, 200], async () => ({ path: `/api/admin/users/${target.id}`, body: { disabled: false } })),
  // Resets a spare account's second factors (it has none: nothing is removed, its sessions end).
  'POST /api/admin/users/:id/mfa/reset': row([401, 403, 403, 403, 403, 403, 403, 403, 403, 200], async () => ({
    path: `/api/admin/users/${(await createUser(t)).id}/mfa/reset`, body: { reason: 'Matrix: the person lost every factor' },
  })),
  'GET /api/admin/security-events':     row([401, 403, 403, 403, 403, 403, 403, 403, 403, 200], fixed('/api/admin/security-events')),
  'GET /api/admin/security-events/suspicious': row([401, 403, 403, 403, 403, 403, 403, 403, 403, 200], fixed('/api/admin/security-events/suspicious')),
  // Break-glass on a session of its own, so the shared one stays closed to the admin.
  'POST /api/admin/sessions/:id/access': row([401, 403, 403, 403, 403, 403, 403, 403, 403, 201], async () => ({
    path: `/api/admin/sessions/${await counselingSession('active')}/access`, body: { reason: 'Matrix: the client asked support to look at an entry' },
  })),

  'GET /api/errors/stats':              row([401, 403, 403, 403, 403, 403, 403, 403, 403, 200], fixed('/api/errors/stats')),
  'GET /metrics':                       row([401, 403, 403, 403, 403, 403, 403, 403, 403, 200], fixed('/metrics')),

  'GET /api/openapi.json':              row([200, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/openapi.json')),
  'GET /api/docs':                      row([200, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/docs')),
  'GET /api/docs/init.js':              row([200, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/docs/init.js')),
  // Middleware mounted on a path of its own answers requests too (static files): `USE` rows are sent as GET.
  'USE /api/docs/assets':               row([200, 200, 200, 200, 200, 200, 200, 200, 200, 200], fixed('/api/docs/assets/swagger-ui.css')),
};

beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
  make = factories(t);
  for (const member of Object.keys(ROLE_OF) as Member[]) who[member] = await identity(ROLE_OF[member]);
  spare = await createUser(t);
  target = await createUser(t);
  orgA = (await make.organization({ name: 'Practice A' })).id;
  for (const [member, role] of Object.entries(ORG_ROLE_OF) as [Member, OrgRole][]) await make.member(orgA, who[member].user.id, role);
  await make.member((await make.organization({ name: 'Practice B' })).id, who.outsider.user.id, 'owner');
  await make.care(orgA, who.counselor.user.id, who.client.user.id);
  shared = await counselingSession('active');
  sharedFile = (await attach(t, who.client.auth, shared, { data: PDF, filename: 'matrix.pdf' }).expect(201)).body.id;
});
afterAll(() => t.close());

function send(method: string, call: Call, auth: string | undefined) {
  const verb = method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
  let req = request(t.app)[verb](call.path);
  const bearer = call.auth === undefined ? auth : call.auth;
  if (bearer) req = req.set('Authorization', bearer);
  for (const [name, value] of Object.entries(call.headers ?? {})) req = req.set(name, value);
  return call.body === undefined ? req : req.send(call.body);
}

// ---------------------------------------------------------------------------------------
// The routes Express really has, read from the router stack.

interface RouterLayer {
  name: string;
  rawPath?: unknown;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle: { stack?: RouterLayer[] };
}

function mountPathOf(layer: RouterLayer): string {
  if (typeof layer.rawPath !== 'string') throw new Error(`cannot read the mount path of ${layer.name}: update this enumeration`);
  return layer.rawPath === '/' ? '' : layer.rawPath;
}

function joinPath(prefix: string, path: unknown): string {
  if (typeof path !== 'string') throw new Error(`route path ${String(path)} is not a string: add it to the matrix by hand`);
  const joined = `${prefix}${path === '/' ? '' : path}`;
  return joined === '' ? '/' : joined;
}

/**
 * `METHOD /path` for every route, mounted routers included, and `USE /path` for plain
 * middleware mounted on a path of its own (it answers requests there, e.g. static files).
 */
function enumerate(stack: RouterLayer[], prefix = ''): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      const methods = Object.keys(layer.route.methods).filter((method) => method !== '_all');
      expect(methods.length, `${joinPath(prefix, layer.route.path)} must name its methods (no .all())`).toBeGreaterThan(0);
      return methods.map((method) => `${method.toUpperCase()} ${joinPath(prefix, layer.route!.path)}`);
    }
    if (layer.handle.stack) return enumerate(layer.handle.stack, prefix + mountPathOf(layer));
    return mountPathOf(layer) === '' ? [] : [`USE ${prefix}${mountPathOf(layer)}`];
  });
}

function appStack(): RouterLayer[] {
  return (t.app as unknown as { router: { stack: RouterLayer[] } }).router.stack;
}

describe('the route table', () => {
  it('has exactly one row for every route the app serves', () => {
    const routes = enumerate(appStack());

    expect(new Set(routes).size).toBe(routes.length);
    expect([...routes].sort()).toEqual(Object.keys(MATRIX).sort());
    // Every endpoint Express serves is a route declaration (the static docs assets are files).
    const declared = t.routes.routes.map((route) => `${route.method} ${route.path}`);
    expect(routes.filter((route) => !route.startsWith('USE ')).sort()).toEqual(declared.sort());
  });

  it('reads the same mount prefixes as src/routes.ts declares', () => {
    const declared = MOUNTS.map((mount) => mount.prefix).filter((prefix) => prefix !== '');
    const mounted = appStack()
      .filter((layer) => layer.handle.stack && layer.rawPath !== '/')
      .map((layer) => layer.rawPath);

    expect(declared.length).toBeGreaterThan(0);
    expect(mounted.sort()).toEqual(declared.sort());
  });
});

describe('authorization matrix', () => {
  for (const [route, { expected, build }] of Object.entries(MATRIX)) {
    const method = route.startsWith('USE ') ? 'GET' : route.split(' ')[0]!;
    describe(route, () => {
      for (const actor of ACTORS) {
        it(`answers ${actor} with ${expected[actor]}`, async () => {
          const call = await build(actor);

          const res = await send(method, call, memberOf(actor)?.auth);

          expect({ status: res.status, body: res.status >= 400 ? res.body : undefined }).toMatchObject({ status: expected[actor] });
          if (res.status >= 400) {
            expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
            expect(res.body).toMatchObject({ status: res.status, code: expect.any(String), requestId: expect.any(String) });
          }
        });
      }
    });
  }
});

describe('the access table in docs/SECURITY.md', () => {
  /** Its column titles, in the order of ACTORS. */
  const TITLES: Record<ActorName, string> = {
    anonymous: 'anonymous',
    client: 'client',
    counselor: 'their counselor',
    otherCounselor: 'another counselor',
    orgOwner: 'owner',
    orgAdmin: 'admin',
    manager: 'manager',
    outsider: 'another org’s owner',
    stranger: 'no organization',
    admin: 'platform admin',
  };
  const cells = (line: string) => line.split('|').slice(1, -1).map((cell) => cell.trim());

  it('is the matrix: every route, every caller, the same status', () => {
    const doc = readFileSync(new URL('../../docs/SECURITY.md', import.meta.url), 'utf8');
    const table = /<!-- access-table -->\n([\s\S]*?)\n<!-- \/access-table -->/.exec(doc)?.[1];
    expect(table, 'docs/SECURITY.md has no <!-- access-table --> block').toBeDefined();
    const [header, _rule, ...lines] = table!.split('\n');

    expect(cells(header!)).toEqual(['route', ...ACTORS.map((actor) => TITLES[actor])]);
    const documented = Object.fromEntries(lines.map((line) => {
      const [route, ...statuses] = cells(line);
      return [route!.replace(/`/g, ''), statuses.map(Number)];
    }));
    const enforced = Object.fromEntries(Object.entries(MATRIX).map(([route, { expected }]) => [route, ACTORS.map((actor) => expected[actor])]));
    expect(documented).toEqual(enforced);
  });
});

describe('insecure direct object references', () => {
  it('answers a guessed session id of somebody else exactly like one that does not exist (404)', async () => {
    const theirs = await counselingSession('active');

    const guessed = await request(t.app).get(`/api/sessions/${theirs}`).set('Authorization', who.stranger.auth).expect(404);
    const missing = await request(t.app).get(`/api/sessions/${randomUUID()}`).set('Authorization', who.stranger.auth).expect(404);

    const { requestId: _a, ...guessedBody } = guessed.body;
    const { requestId: _b, ...missingBody } = missing.body;
    expect(guessedBody).toEqual(missingBody);
    for (const suffix of ['/entries', '/report']) {
      await request(t.app).get(`/api/sessions/${theirs}${suffix}`).set('Authorization', who.otherCounselor.auth).expect(404);
    }
  });

  it('rejects userId in POST /api/sessions with 400 and creates nothing', async () => {
    const before = await t.context.models.CounselingSession.count({ where: { userId: who.client.user.id } });

    const res = await request(t.app).post('/api/sessions').set('Authorization', who.stranger.auth).send({ userId: who.client.user.id, topic: 'planted' }).expect(400);

    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(await t.context.models.CounselingSession.count({ where: { userId: who.client.user.id } })).toBe(before);
    expect(await t.context.models.CounselingSession.count({ where: { topic: 'planted' } })).toBe(0);
  });

  it('rejects role in PATCH /api/users/me with 400 and keeps the role', async () => {
    const res = await request(t.app).patch('/api/users/me').set('Authorization', who.stranger.auth).send({ name: 'Climber', role: 'admin' }).expect(400);

    expect(res.body.code).toBe('VALIDATION_FAILED');
    const stored = await t.context.models.User.findByPk(who.stranger.user.id);
    expect(stored!.role).toBe('user');
    expect(stored!.name).not.toBe('Climber');
  });

  it('rejects userId (and authorId) in an entry body with 400 and writes nothing', async () => {
    const id = await counselingSession('active');

    for (const planted of [{ userId: who.stranger.user.id }, { authorId: who.stranger.user.id }, { authorRole: 'counselor' }]) {
      await request(t.app)
        .post(`/api/sessions/${id}/entries`)
        .set('Authorization', who.client.auth)
        .send({ kind: 'note', text: 'mine', ...planted })
        .expect(400);
    }

    expect(await t.context.models.SessionEntry.count({ where: { sessionId: id } })).toBe(0);
  });

  it('answers an admin PATCH of a user id that does not exist with 404', async () => {
    const res = await request(t.app).patch(`/api/admin/users/${randomUUID()}`).set('Authorization', who.admin.auth).send({ disabled: true }).expect(404);

    expect(res.body.code).toBe('NOT_FOUND');
  });

  it('does not let one user revoke another user’s login session (404) and leaves it active', async () => {
    const { session, accessToken } = await login(t, who.client.user);

    const res = await request(t.app).delete(`/api/auth/sessions/${session.id}`).set('Authorization', who.stranger.auth).expect(404);

    expect(res.body.code).toBe('NOT_FOUND');
    expect((await t.context.models.AuthSession.findByPk(session.id))!.revokedAt).toBeNull();
    await request(t.app).get('/api/auth/me').set('Authorization', `Bearer ${accessToken}`).expect(200);
  });
});

describe('mass assignment', () => {
  /** A valid body for every route that takes one, so that only the planted key can make it fail. */
  const BODIES: Record<string, object> = {
    'POST /api/auth/register': { email: 'planted@example.com', password: STRONG, name: 'Planted' },
    'POST /api/auth/login': { email: 'planted@example.com', password: STRONG, transport: 'body' },
    'POST /api/auth/refresh': { refreshToken: 'planted' },
    'POST /api/auth/logout': { refreshToken: 'planted' },
    'POST /api/auth/verify-email': { token: UNKNOWN_TOKEN },
    'POST /api/auth/resend-verification': { email: 'planted@example.com' },
    'POST /api/auth/forgot-password': { email: 'planted@example.com' },
    'POST /api/auth/reset-password': { token: UNKNOWN_TOKEN, password: STRONG },
    'POST /api/auth/change-password': { currentPassword: TEST_PASSWORD, newPassword: STRONG },
    'POST /api/sessions': { topic: 'planted' },
    'POST /api/sessions/:id/entries': { kind: 'note', text: 'planted' },
    'POST /api/sessions/:id/feedback': { rating: 4 },
    'POST /api/files/presign': { target: 'avatar', contentType: 'image/png', size: 100 },
    'POST /api/files/register': { storageKey: 'avatars/planted' },
    'POST /api/organizations': { name: 'Planted', slug: 'planted' },
    'PATCH /api/organizations/:id': { name: 'Planted' },
    'PATCH /api/organizations/:id/members/:userId': { role: 'client' },
    'POST /api/organizations/:id/invitations': { email: 'planted@example.com', role: 'client' },
    'POST /api/organizations/:id/care': { counselorId: randomUUID(), clientId: randomUUID() },
    'POST /api/invitations/accept': { token: UNKNOWN_TOKEN },
    'PATCH /api/users/me': { name: 'Planted' },
    'PUT /api/users/me/preferences': { theme: 'dark' },
    'DELETE /api/users/me': { password: TEST_PASSWORD },
    'POST /api/users/me/consents': { document: 'terms', version: '1' },
    'PATCH /api/admin/users/:id': { disabled: false },
    'POST /api/admin/sessions/:id/access': { reason: 'A planted key must not pass with this reason' },
    'POST /api/auth/mfa/verify': { challenge: UNKNOWN_TOKEN, code: '123456' },
    'POST /api/auth/magic-link': { email: 'planted@example.com' },
    'POST /api/auth/magic-link/verify': { token: UNKNOWN_TOKEN },
    'POST /api/auth/magic-link/reauthenticate': { token: UNKNOWN_TOKEN },
    'POST /api/auth/password': { password: STRONG },
    'POST /api/auth/oidc/exchange': { code: UNKNOWN_TOKEN },
    'POST /api/auth/oidc/:provider/link': {},
    'POST /api/auth/mfa/totp/confirm': { code: '123456' },
    'POST /api/auth/reauthenticate': { password: TEST_PASSWORD },
    'POST /api/auth/passkeys/register/verify': {
      name: 'Planted',
      response: { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'AAAA', attestationObject: 'AAAA' }, clientExtensionResults: {} },
    },
    'POST /api/auth/passkeys/login/verify': {
      response: { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'AAAA', authenticatorData: 'AAAA', signature: 'AAAA' }, clientExtensionResults: {} },
    },
    'PATCH /api/auth/passkeys/:id': { name: 'Planted' },
    'POST /api/admin/users/:id/mfa/reset': { reason: 'A planted key must not pass with this reason' },
  };
  /** Keys a few bodies take by design: choosing a role is what those routes are for. */
  const LEGITIMATE: Record<string, string[]> = {
    'PATCH /api/organizations/:id/members/:userId': ['role'],
    'POST /api/organizations/:id/invitations': ['role'],
    'PATCH /api/admin/users/:id': ['role'],
    // An organization's logo names its organization (and the caller must run it).
    'POST /api/files/presign': ['organizationId'],
  };
  const PLANTED = { role: 'admin', organizationId: randomUUID(), ownerId: randomUUID(), userId: randomUUID() };
  const withBodies = () => t.routes.routes.filter((route) => route.spec.request?.body).map((route) => `${route.method} ${route.path}`);

  it('has a valid body for every route that takes one', () => {
    expect(withBodies().sort()).toEqual(Object.keys(BODIES).sort());
  });

  it.each(Object.keys(PLANTED))('refuses %s in every body with 400 VALIDATION_FAILED', async (key) => {
    // An admin of its own (admin routes admit it; the others any signed-in caller), never deleted by a body that got through.
    const caller = await identity('admin');
    for (const name of withBodies()) {
      if (LEGITIMATE[name]?.includes(key)) continue;
      const [method, template] = name.split(' ') as [string, string];
      const path = template.replace(/:[A-Za-z]+/g, () => randomUUID());
      const body = { ...BODIES[name], [key]: PLANTED[key as keyof typeof PLANTED] };

      const res = await send(method, { path, body }, caller.auth);

      expect({ route: name, status: res.status, code: res.body.code }).toEqual({ route: name, status: 400, code: 'VALIDATION_FAILED' });
    }
    expect(await t.context.models.User.count({ where: { id: caller.user.id } })).toBe(1);
  });
});
