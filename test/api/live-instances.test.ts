import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type BuiltApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { createSequelize } from '../../src/db/database.js';
import { testContext } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { factories } from '../helpers/factories.js';
import { sharedInstanceEnv } from '../helpers/instances.js';
import { LiveClient, serveLive, type LiveServer } from '../helpers/live.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { createUser, TEST_PASSWORD } from '../helpers/users.js';

/**
 * Two instances over one database and one Redis (a private redis-server), each with its
 * own HTTP server: a participant on A and one on B see each other's entries, state
 * changes and presence, and a logout on A closes the socket on B.
 */
describe('the live channel across two instances sharing Redis', () => {
  let database: TestDatabase;
  let redis: PrivateRedis;
  const instances: { built: BuiltApp; live: LiveServer }[] = [];
  const opened: LiveClient[] = [];
  let a: (typeof instances)[number];
  let b: (typeof instances)[number];

  async function instance(env: Record<string, string>) {
    const config = loadConfig(env);
    const built = createApp({ config, sequelize: createSequelize(config) });
    const entry = { built, live: await serveLive(built) };
    instances.push(entry);
    return entry;
  }

  async function signIn(on: (typeof instances)[number], user: { email: string }) {
    const res = await request(on.built.app).post('/api/auth/login').send({ email: user.email, password: TEST_PASSWORD, transport: 'body' }).expect(200);
    return { token: res.body.accessToken as string, auth: `Bearer ${res.body.accessToken as string}` };
  }

  async function socket(on: (typeof instances)[number], token: string) {
    const client = await LiveClient.signedIn(on.live.url, token);
    opened.push(client);
    return client;
  }

  /** A practice where `counselor` has `client` in care, and a session of theirs, straight in the database. */
  async function careAndSession() {
    const t = { context: testContext(a.built) } as Parameters<typeof createUser>[0];
    const make = factories(t);
    const client = await createUser(t);
    const counselor = await createUser(t, { role: 'counselor' });
    const organization = await make.organization();
    await make.member(organization.id, client.id, 'client');
    await make.member(organization.id, counselor.id, 'counselor');
    const owner = await createUser(t);
    await make.member(organization.id, owner.id, 'owner');
    const care = await make.care(organization.id, counselor.id, client.id);
    const session = await make.session({ userId: client.id, counselorId: counselor.id, organizationId: organization.id, status: 'active', startedAt: new Date(Date.now() - 60_000) });
    return { client, counselor, owner, organizationId: organization.id, careId: care.id, sessionId: session.id };
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = await startPrivateRedis();
    const env = await sharedInstanceEnv(database, { redisUrl: redis.url, name: 'live', env: { RATE_LIMIT_GLOBAL_MAX: '5000', RATE_LIMIT_AUTH_MAX: '1000', RATE_LIMIT_WRITE_MAX: '5000' } });
    a = await instance(env);
    b = await instance(env);
    await a.built.modules.auth.keys.jwks(); // A makes the signing key; B finds it
    for (const { built } of instances) {
      const shared = built.infra.shared!;
      for (let i = 0; i < 100 && !shared.ready; i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }, 60_000);

  afterEach(() => {
    for (const client of opened.splice(0)) client.close();
  });

  afterAll(async () => {
    for (const { built, live } of instances.reverse()) {
      await live.close();
      await built.drain().catch(() => undefined);
    }
    await redis?.stop();
    await database?.drop();
  });

  /** Pub/sub subscriptions start asynchronously: a first message is repeated until the other side hears it. */
  async function untilHeard(client: LiveClient, match: (frame: { type: string; [key: string]: unknown }) => boolean, act: () => Promise<unknown>) {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      await act();
      const heard = await client.next(match, 500).catch(() => undefined);
      if (heard) return heard;
    }
    throw new Error('never heard across instances');
  }

  it('delivers an entry written on A (REST) to the counselor on B, and one written on B (socket) to the client on A', async () => {
    const { client, counselor, sessionId } = await careAndSession();
    const clientOnA = await signIn(a, client);
    const counselorOnB = await signIn(b, counselor);
    const clientSocket = await socket(a, clientOnA.token);
    const counselorSocket = await socket(b, counselorOnB.token);
    await clientSocket.subscribe(sessionId);
    await counselorSocket.subscribe(sessionId);

    const heard = await untilHeard(counselorSocket, (frame) => frame.type === 'entry.created', () =>
      request(a.built.app).post(`/api/sessions/${sessionId}/entries`).set('Authorization', clientOnA.auth).send({ kind: 'transcript', text: 'said on A', speaker: 'client' }).expect(201),
    );
    expect(heard.entry).toMatchObject({ kind: 'transcript', text: 'said on A', authorId: client.id });

    counselorSocket.send({ type: 'entry', sessionId, ref: 'b-1', entry: { kind: 'transcript', text: 'answered on B', speaker: 'counselor' } });
    expect(await clientSocket.next((frame) => frame.type === 'entry.created' && (frame.entry as { text?: string }).text === 'answered on B')).toMatchObject({ sessionId });

    const presence = await clientSocket.next((frame) => frame.type === 'presence' && (frame.participants as unknown[]).length === 2);
    expect(presence.participants).toEqual(expect.arrayContaining([{ userId: client.id, role: 'client' }, { userId: counselor.id, role: 'counselor' }]));
  });

  it('never sends a counselor’s note written on B to the client on A, and never puts text on Redis', async () => {
    const { client, counselor, sessionId } = await careAndSession();
    const clientSocket = await socket(a, (await signIn(a, client)).token);
    const counselorSocket = await socket(b, (await signIn(b, counselor)).token);
    await clientSocket.subscribe(sessionId);
    await counselorSocket.subscribe(sessionId);
    const seen: string[] = [];
    a.built.infra.shared!.subscribe(`${a.built.infra.config.redis.keyPrefix}live`, (message) => seen.push(message));

    counselorSocket.send({ type: 'entry', sessionId, entry: { kind: 'note', text: 'secret-note-text' } });
    await counselorSocket.next((frame) => frame.type === 'entry.accepted');
    await untilHeard(clientSocket, (frame) => frame.type === 'entry.created', async () =>
      counselorSocket.send({ type: 'entry', sessionId, entry: { kind: 'transcript', text: 'visible-line', speaker: 'counselor' } }),
    );

    expect(JSON.stringify(clientSocket.frames)).not.toContain('secret-note-text');
    expect(seen.join('\n')).not.toMatch(/secret-note-text|visible-line/);
  });

  it('pushes a pause made on B to the client on A', async () => {
    const { client, counselor, sessionId } = await careAndSession();
    const clientSocket = await socket(a, (await signIn(a, client)).token);
    await clientSocket.subscribe(sessionId);
    const counselorOnB = await signIn(b, counselor);

    await request(b.built.app).post(`/api/sessions/${sessionId}/pause`).set('Authorization', counselorOnB.auth).expect(200);

    expect(await clientSocket.next((frame) => frame.type === 'session.state')).toMatchObject({ sessionId, status: 'paused' });
  });

  it('closes the socket on B within 1 s of a logout on A', async () => {
    const person = await createUser({ context: testContext(a.built) } as Parameters<typeof createUser>[0], { email: `live-${randomBytes(4).toString('hex')}@example.com` });
    const session = await signIn(a, person);
    const onB = await socket(b, session.token);

    await request(a.built.app).post('/api/auth/logout').set('Authorization', session.auth).expect(204);

    expect(await onB.closedWithin(1_000)).toEqual({ code: 4401, reason: 'SESSION_ENDED' });
  });

  it('closes the counselor’s socket on B with 4403 when the care relationship is ended on A', async () => {
    const { counselor, owner, organizationId, careId, sessionId } = await careAndSession();
    const counselorSocket = await socket(b, (await signIn(b, counselor)).token);
    await counselorSocket.subscribe(sessionId);
    const ownerOnA = await signIn(a, owner);

    await request(a.built.app).delete(`/api/organizations/${organizationId}/care/${careId}`).set('Authorization', ownerOnA.auth).expect(204);

    expect(await counselorSocket.closedWithin(1_000)).toEqual({ code: 4403, reason: 'ACCESS_CHANGED' });
  });
});
