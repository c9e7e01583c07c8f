import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import * as jose from 'jose';
import request from 'supertest';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deriveKey, seal } from '../../src/crypto/secret-box.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { factories } from '../helpers/factories.js';
import { LiveClient, serveLive, type LiveServer } from '../helpers/live.js';
import { createPractice, requestAs, type Practice } from '../helpers/practice.js';
import { login, userWithToken } from '../helpers/users.js';

/**
 * The live channel over real sockets (docs/SECURITY.md › The live channel): origin, auth,
 * who may follow a session, limits, revocation. One instance here; live-instances.test.ts
 * runs two over Redis.
 */

const ALLOWED_ORIGIN = 'http://localhost:5173';
const ENV = {
  CORS_ORIGINS: ALLOWED_ORIGIN,
  TRUST_PROXY: '1', // each scenario speaks from an X-Forwarded-For address of its own, so caps never mix
  LIVE_AUTH_TIMEOUT_MS: '300',
  LIVE_MESSAGES_PER_S: '5',
  LIVE_MAX_CONNECTIONS_PER_ADDRESS: '3',
  LIVE_MAX_CONNECTIONS_PER_USER: '3',
};

let t: TestApp;
let live: LiveServer;
let practice: Practice;
let make: ReturnType<typeof factories>;
const opened: LiveClient[] = [];
let nextAddress = 1;
/** Signs access tokens with chosen claims under a key the app trusts (installed once: the key store rereads its set rarely). */
let sign: (claims: jose.JWTPayload) => Promise<string>;

/** Options for a socket from an address of its own (and the allowed Origin unless told). */
function from(headers: Record<string, string> = {}) {
  return { 'X-Forwarded-For': `10.1.0.${nextAddress++}`, Origin: ALLOWED_ORIGIN, ...headers };
}

async function signedIn(token: string, headers = from()): Promise<LiveClient> {
  const client = await LiveClient.signedIn(live.url, token, headers);
  opened.push(client);
  return client;
}

async function connected(headers = from()): Promise<LiveClient> {
  const client = await LiveClient.connect(live.url, headers);
  opened.push(client);
  return client;
}

async function newSession() {
  const row = await make.session({ userId: practice.client.user.id, counselorId: practice.counselor.user.id, organizationId: practice.id, status: 'active', startedAt: new Date(Date.now() - 60_000) });
  return row.id;
}

/** A key pair the app trusts (sealed into `jwks` as the key store does), to sign tokens with chosen claims. */
async function trustedKey() {
  const pair = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const kid = `test-${randomUUID()}`;
  const jwk = { ...(await jose.exportJWK(pair.publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  await t.context.models.SigningKey.create({ kid, publicJwk: JSON.stringify(jwk), privateKeyEnc: seal(deriveKey(t.config.secrets.authSecret, 'jwks-private-keys'), await jose.exportPKCS8(pair.privateKey), kid) });
  return (claims: jose.JWTPayload) => new jose.SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' }).sign(pair.privateKey);
}

/** Claims of the practice's client's real login session, expiring `inS` seconds from now. */
function clientClaims(inS: number): jose.JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return { sub: practice.client.user.id, sid: practice.client.sessionId, role: 'user', iss: t.config.publicUrl, aud: 'confidant-api', jti: randomUUID(), iat: now - 1, exp: now + inS };
}

const entries = (sessionId: string) => t.context.models.SessionEntry.count({ where: { sessionId } });

beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true, env: ENV });
  live = await serveLive(t);
  make = factories(t);
  sign = await trustedKey(); // before the key store's first load, so it is known from the start
  practice = await createPractice(t);
});
afterEach(() => {
  for (const client of opened.splice(0)) client.close();
});
afterAll(async () => {
  await live.close();
  await t.close();
});

describe('GET /api/live without an upgrade', () => {
  it('answers 426 with a problem', async () => {
    const res = await request(t.app).get('/api/live').expect(426);

    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 426, code: 'UPGRADE_REQUIRED' });
  });
});

describe('the upgrade', () => {
  it('refuses a foreign Origin with 403 before the handshake, and records it', async () => {
    const address = `10.9.0.${nextAddress++}`;
    const opening = await LiveClient.open(live.url, { Origin: 'https://evil.example', 'X-Forwarded-For': address });

    expect(opening.open).toBe(false);
    if (opening.open) return;
    expect(opening.status).toBe(403);
    expect(opening.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(opening.body)).toMatchObject({ status: 403, code: 'ORIGIN_NOT_ALLOWED', requestId: expect.any(String) });
    await t.context.events.flush();
    const event = await t.context.models.SecurityEvent.findOne({ where: { type: 'live_connection_refused', ip: address } });
    expect(event?.metadata).toEqual({ reason: 'origin' });
  });

  it('accepts the allowed Origin and no Origin at all (native apps), with a request id', async () => {
    const withOrigin = await LiveClient.open(live.url, from({ 'X-Request-Id': 'live-test-origin-1' }));
    const without = await LiveClient.open(live.url, { 'X-Forwarded-For': `10.1.0.${nextAddress++}` });

    expect(withOrigin.open && without.open).toBe(true);
    if (withOrigin.open) {
      opened.push(withOrigin.client);
      expect(withOrigin.client.upgradeHeaders['x-request-id']).toBe('live-test-origin-1');
    }
    if (without.open) {
      opened.push(without.client);
      expect(without.client.upgradeHeaders['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('refuses a fourth socket from one address with 429', async () => {
    const headers = from();
    for (let i = 0; i < 3; i += 1) await connected(headers);

    const fourth = await LiveClient.open(live.url, headers);

    expect(fourth.open).toBe(false);
    if (!fourth.open) expect(JSON.parse(fourth.body)).toMatchObject({ status: 429, code: 'TOO_MANY_CONNECTIONS' });
  });
});

describe('authentication (the first message)', () => {
  it('closes a socket that sends no auth message in time with 4401', async () => {
    const client = await connected();

    expect(await client.closedWithin()).toEqual({ code: 4401, reason: 'AUTH_TIMEOUT' });
  });

  it('closes a socket whose first message is not auth with 4401', async () => {
    const client = await connected();

    client.send({ type: 'subscribe', sessionId: randomUUID() });

    expect(await client.closedWithin()).toEqual({ code: 4401, reason: 'AUTH_REQUIRED' });
  });

  it('closes with 4401 for a forged, an expired and a revoked token', async () => {
    const forger = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const forged = await new jose.SignJWT(clientClaims(900)).setProtectedHeader({ alg: 'EdDSA', kid: 'made-up', typ: 'at+jwt' }).sign(forger.privateKey);
    const expired = await sign({ ...clientClaims(-60), iat: Math.floor(Date.now() / 1000) - 960 }); // signed with a key the app trusts
    const revoked = await userWithToken(t);
    await request(t.app).post('/api/auth/logout').set('Authorization', revoked.auth).expect(204);

    for (const token of [forged, expired, revoked.accessToken, 'not-a-token']) {
      const client = await connected();
      client.send({ type: 'auth', token });
      expect(await client.closedWithin()).toEqual({ code: 4401, reason: 'INVALID_TOKEN' });
    }
  });

  it('closes the socket with 4401 when its token expires, unless a fresh token of the same account came first', async () => {
    const lapsing = await signedIn(await sign(clientClaims(2)));
    const renewed = await signedIn(await sign(clientClaims(2)));

    renewed.send({ type: 'auth', token: practice.client.accessToken });
    await renewed.next((frame) => frame.type === 'ready');

    expect(await lapsing.closedWithin()).toEqual({ code: 4401, reason: 'TOKEN_EXPIRED' });
    expect(renewed.socket.readyState).toBe(renewed.socket.OPEN);
  });

  it('handles a socket’s messages in order: a subscribe sent right behind the auth waits for it', async () => {
    const sessionId = await newSession();
    const client = await connected();

    client.send({ type: 'auth', token: practice.client.accessToken });
    client.send({ type: 'subscribe', sessionId });

    expect(await client.next((frame) => frame.type === 'subscribed')).toMatchObject({ sessionId, as: 'client', content: true });
    expect(client.frames.map((frame) => frame.type).slice(0, 2)).toEqual(['ready', 'subscribed']);
  });

  it('closes with 4401 when a later auth message is another account’s token', async () => {
    const client = await signedIn(practice.client.accessToken);

    client.send({ type: 'auth', token: practice.counselor.accessToken });

    expect(await client.closedWithin()).toEqual({ code: 4401, reason: 'ACCOUNT_CHANGED' });
  });

  it('refuses a fourth socket of one account with 4429 at its auth message', async () => {
    const person = await userWithToken(t);
    for (let i = 0; i < 3; i += 1) await signedIn(person.accessToken);

    const fourth = await connected();
    fourth.send({ type: 'auth', token: person.accessToken });

    expect(await fourth.closedWithin()).toEqual({ code: 4429, reason: 'TOO_MANY_CONNECTIONS' });
  });
});

describe('following a session', () => {
  it('pushes entries written over REST and over the socket to the client and their counselor', async () => {
    const sessionId = await newSession();
    const client = await signedIn(practice.client.accessToken);
    const counselor = await signedIn(practice.counselor.accessToken);
    expect(await client.subscribe(sessionId)).toMatchObject({ type: 'subscribed', status: 'active', content: true });
    expect(await counselor.subscribe(sessionId)).toMatchObject({ type: 'subscribed', content: true });

    await requestAs(t, practice.counselor).post(`/api/sessions/${sessionId}/entries`, { kind: 'transcript', text: 'How was your week?', speaker: 'counselor' }).expect(201);
    client.send({ type: 'entry', sessionId, ref: 'e-1', entry: { kind: 'emotion', emotion: 'calm', valence: 0.4, arousal: 0.2 } });

    const accepted = await client.next((frame) => frame.type === 'entry.accepted');
    expect(accepted).toMatchObject({ ref: 'e-1', sessionId, entry: { kind: 'emotion', emotion: 'calm', authorRole: 'client' } });
    const onCounselor = await counselor.next((frame) => frame.type === 'entry.created' && (frame.entry as { kind: string }).kind === 'emotion');
    expect(onCounselor.entry).toEqual(accepted.entry);
    expect(await client.next((frame) => frame.type === 'entry.created' && (frame.entry as { kind: string }).kind === 'transcript')).toMatchObject({
      entry: { text: 'How was your week?', speaker: 'counselor' },
    });
    expect(await entries(sessionId)).toBe(2);
  });

  it('never pushes the counselor’s notes to the client', async () => {
    const sessionId = await newSession();
    const client = await signedIn(practice.client.accessToken);
    const counselor = await signedIn(practice.counselor.accessToken);
    await client.subscribe(sessionId);
    await counselor.subscribe(sessionId);

    counselor.send({ type: 'entry', sessionId, ref: 'note', entry: { kind: 'note', text: 'private observation' } });
    await counselor.next((frame) => frame.type === 'entry.created');
    counselor.send({ type: 'entry', sessionId, ref: 'after', entry: { kind: 'transcript', text: 'shared line', speaker: 'counselor' } });
    await client.next((frame) => frame.type === 'entry.created');

    expect(client.frames.filter((frame) => frame.type === 'entry.created').map((frame) => (frame.entry as { kind: string }).kind)).toEqual(['transcript']);
    expect(JSON.stringify(client.frames)).not.toContain('private observation');
  });

  it('answers a non-participant exactly as for a session that does not exist, and pushes nothing', async () => {
    const sessionId = await newSession();
    const stranger = await userWithToken(t);
    const otherCounselor = await practice.join('counselor');
    const socket = await signedIn(stranger.accessToken);
    const other = await signedIn(otherCounselor.accessToken);

    const theirs = await socket.subscribe(sessionId);
    const missing = await socket.subscribe(randomUUID());
    expect(await other.subscribe(sessionId)).toMatchObject({ type: 'error', status: 404, code: 'NOT_FOUND' });
    await requestAs(t, practice.client).post(`/api/sessions/${sessionId}/entries`, { kind: 'note', text: 'mine' }).expect(201);

    const { sessionId: _a, ...theirsBody } = theirs;
    const { sessionId: _b, ...missingBody } = missing;
    expect(theirsBody).toEqual(missingBody);
    expect(theirs).toMatchObject({ type: 'error', status: 404, code: 'NOT_FOUND' });
    expect(socket.frames.some((frame) => frame.type === 'entry.created')).toBe(false);
  });

  it('gives the organization’s staff and platform admins state and presence, never content', async () => {
    const sessionId = await newSession();
    const admin = await userWithToken(t, { role: 'admin' });
    const manager = await signedIn(practice.manager.accessToken);
    const platformAdmin = await signedIn(admin.accessToken);
    const client = await signedIn(practice.client.accessToken);
    expect(await manager.subscribe(sessionId)).toMatchObject({ type: 'subscribed', content: false });
    expect(await platformAdmin.subscribe(sessionId)).toMatchObject({ type: 'subscribed', content: false });
    await client.subscribe(sessionId);

    client.send({ type: 'entry', sessionId, entry: { kind: 'note', text: 'for my counselor only' } });
    await client.next((frame) => frame.type === 'entry.accepted');
    await requestAs(t, practice.client).post(`/api/sessions/${sessionId}/pause`).expect(200);

    for (const watcher of [manager, platformAdmin]) {
      expect(await watcher.next((frame) => frame.type === 'session.state')).toMatchObject({ sessionId, status: 'paused' });
      expect(watcher.frames.some((frame) => frame.type === 'entry.created')).toBe(false);
      expect(JSON.stringify(watcher.frames)).not.toContain('for my counselor only');
    }
    const presence = await client.next((frame) => frame.type === 'presence' && (frame.participants as unknown[]).length === 3);
    expect(presence.participants).toEqual(expect.arrayContaining([{ userId: practice.client.user.id, role: 'client' }, { userId: practice.manager.user.id, role: 'staff' }]));
    expect(JSON.stringify(presence)).not.toMatch(/10\.1\.0\.|127\.0\.0\.1/);
  });

  it('tells the followers of a deleted session, and follows it no more', async () => {
    const sessionId = await newSession();
    const counselor = await signedIn(practice.counselor.accessToken);
    await counselor.subscribe(sessionId);

    await requestAs(t, practice.client).delete(`/api/sessions/${sessionId}`).expect(204);

    expect(await counselor.next((frame) => frame.type === 'unsubscribed')).toEqual({ type: 'unsubscribed', sessionId, reason: 'SESSION_DELETED' });
    expect(counselor.socket.readyState).toBe(counselor.socket.OPEN);
  });

  it('refuses an invalid entry with an error frame and stores nothing', async () => {
    const sessionId = await newSession();
    const client = await signedIn(practice.client.accessToken);

    client.send({ type: 'entry', sessionId, ref: 'bad', entry: { kind: 'emotion', emotion: 'ecstatic', valence: 9, arousal: 0 } });
    client.send({ type: 'entry', sessionId, ref: 'planted', entry: { kind: 'note', text: 'x', authorId: randomUUID() } });
    const first = await client.next((frame) => frame.type === 'error');
    const second = await client.next((frame) => frame.type === 'error');

    for (const frame of [first, second]) expect(frame).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', errors: expect.any(Array) });
    expect(await entries(sessionId)).toBe(0);
  });

  it('answers an entry for an ended session with 409 SESSION_ENDED', async () => {
    const sessionId = await newSession();
    await requestAs(t, practice.client).post(`/api/sessions/${sessionId}/end`).expect(200);
    const client = await signedIn(practice.client.accessToken);

    client.send({ type: 'entry', sessionId, ref: 'late', entry: { kind: 'note', text: 'too late' } });

    expect(await client.next((frame) => frame.type === 'error')).toMatchObject({ status: 409, code: 'SESSION_ENDED', ref: 'late' });
    expect(await entries(sessionId)).toBe(0);
  });
});

describe('frames the channel refuses', () => {
  it('closes on a frame above 16 KiB with 1009', async () => {
    const client = await signedIn(practice.client.accessToken);

    client.send(JSON.stringify({ type: 'entry', sessionId: randomUUID(), entry: { kind: 'note', text: 'x'.repeat(17 * 1024) } }));

    expect((await client.closedWithin()).code).toBe(1009);
  });

  it('closes on a binary frame with 1003 and on text that is not JSON with 1007', async () => {
    const binary = await signedIn(practice.client.accessToken);
    const garbled = await signedIn(practice.client.accessToken);

    binary.send(Buffer.from([1, 2, 3]));
    garbled.send('{"type": "auth",');

    expect((await binary.closedWithin()).code).toBe(1003);
    expect((await garbled.closedWithin()).code).toBe(1007);
  });

  it('answers a flood with an error frame, then closes it with 4429', async () => {
    const client = await signedIn(practice.client.accessToken);

    for (let i = 0; i < 60; i += 1) client.send({ type: 'unsubscribe', sessionId: randomUUID() });

    expect(await client.closedWithin()).toEqual({ code: 4429, reason: 'RATE_LIMITED' });
    expect(client.frames.filter((frame) => frame.type === 'error' && frame.code === 'RATE_LIMITED')).toHaveLength(1);
  });
});

describe('revocation on open sockets', () => {
  it('closes the socket of a login session within 1 s of its logout', async () => {
    const person = await userWithToken(t);
    const client = await signedIn(person.accessToken);

    await request(t.app).post('/api/auth/logout').set('Authorization', person.auth).expect(204);

    expect(await client.closedWithin(1_000)).toEqual({ code: 4401, reason: 'SESSION_ENDED' });
  });

  it('closes every socket of the account on logout-all, leaving other accounts alone', async () => {
    const person = await userWithToken(t);
    const bystander = await userWithToken(t);
    const first = await signedIn(person.accessToken);
    const second = await signedIn(person.accessToken);
    const other = await signedIn(bystander.accessToken);

    await request(t.app).post('/api/auth/logout-all').set('Authorization', person.auth).expect(200);

    expect((await first.closedWithin(1_000)).code).toBe(4401);
    expect((await second.closedWithin(1_000)).code).toBe(4401);
    expect(other.socket.readyState).toBe(other.socket.OPEN);
  });

  it('closes the counselor’s socket with 4403 when the care relationship ends', async () => {
    const own = await createPractice(t);
    const row = await make.session({ userId: own.client.user.id, counselorId: own.counselor.user.id, organizationId: own.id, status: 'active' });
    const counselor = await signedIn(own.counselor.accessToken);
    const client = await signedIn(own.client.accessToken);
    await counselor.subscribe(row.id);
    await client.subscribe(row.id);

    await requestAs(t, own.owner).delete(`/api/organizations/${own.id}/care/${own.care.id}`).expect(204);

    expect(await counselor.closedWithin(1_000)).toEqual({ code: 4403, reason: 'ACCESS_CHANGED' });
    expect(client.socket.readyState).toBe(client.socket.OPEN);
  });

  it('closes the sockets of the other login sessions on a password change, and keeps the one that changed it', async () => {
    const person = await userWithToken(t);
    const other = await login(t, person.user);
    const elsewhere = await signedIn(other.accessToken);
    const here = await signedIn(person.accessToken);

    await requestAs(t, person).post('/api/auth/change-password', { currentPassword: person.user.password, newPassword: 'saffron-glacier-harbor-quill-59' }).expect(200);

    expect(await elsewhere.closedWithin(1_000)).toEqual({ code: 4401, reason: 'SESSION_ENDED' });
    expect(here.socket.readyState).toBe(here.socket.OPEN);
  });

  it('closes the socket of a counselor removed from the practice with 4403', async () => {
    const own = await createPractice(t);
    const row = await make.session({ userId: own.client.user.id, counselorId: own.counselor.user.id, organizationId: own.id, status: 'active' });
    const counselor = await signedIn(own.counselor.accessToken);
    await counselor.subscribe(row.id);

    await requestAs(t, own.owner).delete(`/api/organizations/${own.id}/members/${own.counselor.user.id}`).expect(204);

    expect(await counselor.closedWithin(1_000)).toEqual({ code: 4403, reason: 'ACCESS_CHANGED' });
  });

  it('closes the socket with 4401 when a platform admin changes the account’s role', async () => {
    const admin = await userWithToken(t, { role: 'admin' });
    const person = await userWithToken(t);
    const client = await signedIn(person.accessToken);

    await requestAs(t, admin).patch(`/api/admin/users/${person.user.id}`, { role: 'counselor' }).expect(200);

    expect(await client.closedWithin(1_000)).toEqual({ code: 4401, reason: 'SESSION_ENDED' });
  });
});

describe('metrics', () => {
  it('counts open sockets, messages and refusals', async () => {
    const admin = await userWithToken(t, { role: 'admin' });
    await signedIn(practice.client.accessToken);

    const res = await requestAs(t, admin).get('/metrics').expect(200);

    expect(Number(/^confidant_live_connections_open (\d+)/m.exec(res.text)?.[1])).toBeGreaterThanOrEqual(1);
    expect(res.text).toMatch(/^confidant_live_messages_total\{direction="in"\} [1-9]/m);
    expect(res.text).toMatch(/^confidant_live_refusals_total\{reason="origin"\} [1-9]/m);
  });
});

describe('shutdown during traffic', () => {
  it('stores and acknowledges every entry it accepted, then closes with 1001 and a reconnect hint', async () => {
    const own = await createTestApp({ lenientLimits: true, env: { LIVE_MESSAGES_PER_S: '100' } });
    const server = await serveLive(own);
    try {
      const ownPractice = await createPractice(own);
      const row = await factories(own).session({ userId: ownPractice.client.user.id, counselorId: ownPractice.counselor.user.id, organizationId: ownPractice.id, status: 'active', startedAt: new Date(Date.now() - 60_000) });
      const client = await LiveClient.signedIn(server.url, ownPractice.client.accessToken);

      for (let i = 0; i < 30; i += 1) client.send({ type: 'entry', sessionId: row.id, ref: `n-${i}`, entry: { kind: 'emotion', emotion: 'hope', valence: 0.1, arousal: 0.1 } });
      await client.next((frame) => frame.type === 'entry.accepted'); // traffic is flowing
      await own.modules.live.close();

      const closed = await client.closedWithin();
      expect(closed).toEqual({ code: 1001, reason: 'SHUTTING_DOWN' });
      expect(client.frames.some((frame) => frame.type === 'reconnect')).toBe(true);
      const acknowledged = client.frames.filter((frame) => frame.type === 'entry.accepted').length;
      expect(acknowledged).toBeGreaterThan(0);
      expect(await own.context.models.SessionEntry.count({ where: { sessionId: row.id } })).toBe(acknowledged);
      const late = await LiveClient.open(server.url);
      expect(late.open).toBe(false);
      if (!late.open) expect(late.status).toBe(503);
    } finally {
      await server.close();
      await own.close();
    }
  });
});

describe('heartbeats', () => {
  it('drops a socket that stops answering pings', async () => {
    const own = await createTestApp({ lenientLimits: true, env: { LIVE_HEARTBEAT_S: '1' } });
    const server = await serveLive(own);
    try {
      const silent = new WebSocket(server.url, { autoPong: false });
      await once(silent, 'open');
      const answering = await LiveClient.connect(server.url);
      answering.send({ type: 'auth', token: (await userWithToken(own)).accessToken });
      const dropped = new LiveClient(silent);
      silent.send(JSON.stringify({ type: 'auth', token: (await userWithToken(own)).accessToken }));
      await dropped.next((frame) => frame.type === 'ready');

      expect((await dropped.closedWithin(10_000)).code).toBe(1006); // terminated: no close frame
      expect(answering.socket.readyState).toBe(answering.socket.OPEN);
      answering.close();
    } finally {
      await server.close();
      await own.close();
    }
  });
});
