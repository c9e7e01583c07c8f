import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type BuiltApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { createSequelize } from '../../src/db/database.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { sharedInstanceEnv } from '../helpers/instances.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { factories } from '../helpers/factories.js';
import { LiveClient, serveLive } from '../helpers/live.js';
import { createUser, login, TEST_PASSWORD, type TestUser } from '../helpers/users.js';

const STRONG = 'quartz-meadow-lantern-violin-83';
const IN_FORCE = [
  { document: 'terms', version: '2026-01' },
  { document: 'privacy', version: '2026-02' },
  { document: 'health_data_processing', version: '2026-01' },
] as const;

let t: TestApp;
let make: ReturnType<typeof factories>;

beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true, env: { CONSENT_DOCUMENTS: IN_FORCE.map(({ document, version }) => `${document}:${version}`).join(',') } });
  make = factories(t);
});
afterAll(async () => {
  await t?.close();
});

const bearer = (token: string) => `Bearer ${token}`;

/** A person who signed in and has accepted `accepted` (by default everything in force, as at registration). */
async function person(accepted: readonly { document: string; version: string }[] = IN_FORCE, options: Parameters<typeof createUser>[1] = {}) {
  const user = await createUser(t, options);
  for (const { document, version } of accepted) await t.context.models.ConsentRecord.create({ userId: user.id, document: document as never, version, action: 'given' });
  const { accessToken } = await login(t, user);
  return { user, auth: bearer(accessToken) };
}

async function recordsOf(user: Pick<TestUser, 'id'>) {
  const rows = await t.context.models.ConsentRecord.findAll({ where: { userId: user.id }, order: [['id', 'ASC']] });
  return rows.map(({ document, version, action }) => ({ document, version, action }));
}

describe('POST /api/auth/register with documents in force', () => {
  const register = (body: object) => request(t.app).post('/api/auth/register').send({ password: STRONG, name: 'New Person', ...body });

  it('refuses a registration that does not accept every current version (422 CONSENT_REQUIRED, naming them) and creates nothing', async () => {
    const email = 'missing-consent@example.com';
    const none = await register({ email }).expect(422);
    expect(none.body).toMatchObject({ code: 'CONSENT_REQUIRED', documents: IN_FORCE });
    const outdated = await register({ email, consents: [IN_FORCE[0], { document: 'privacy', version: '2025-01' }, IN_FORCE[2]] }).expect(422);
    expect(outdated.body).toMatchObject({ code: 'CONSENT_REQUIRED', documents: [IN_FORCE[1]] });
    expect(await t.context.models.User.count({ where: { email } })).toBe(0);
  });

  it('records each accepted version, with a security event each, when the account is created', async () => {
    const email = 'with-consent@example.com';
    await register({ email, consents: IN_FORCE }).expect(202);
    const user = (await t.context.models.User.findOne({ where: { email } }))!;
    expect(await recordsOf(user)).toEqual(IN_FORCE.map((given) => ({ ...given, action: 'given' })));
    await t.context.events.flush();
    const events = await t.context.models.SecurityEvent.findAll({ where: { userId: user.id, type: 'consent_given' } });
    expect(events.map((event) => event.metadata.document).sort()).toEqual(['health_data_processing', 'privacy', 'terms']);
  });

  it.each([
    ['an unknown document', { document: 'cookies', version: '1' }],
    ['a malformed version', { document: 'terms', version: '1 OR 1=1' }],
    ['an extra field', { document: 'terms', version: '2026-01', scope: 'all' }],
  ])('answers 400 for %s in the consents', async (_name, consent) => {
    const res = await register({ email: 'bad-consent@example.com', consents: [consent] }).expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });
});

describe('the consent gate', () => {
  it('answers 403 CONSENT_REQUIRED, naming what is outstanding, on every route but consent, export, deletion and who-am-I', async () => {
    const { user, auth } = await person([]);

    const refused = await request(t.app).get('/api/sessions').set('Authorization', auth).expect(403);
    expect(refused.body).toMatchObject({ code: 'CONSENT_REQUIRED', documents: IN_FORCE });
    await request(t.app).get('/api/dashboard/summary').set('Authorization', auth).expect(403);
    await request(t.app).patch('/api/users/me').set('Authorization', auth).send({ name: 'Renamed' }).expect(403);

    await request(t.app).get('/api/auth/me').set('Authorization', auth).expect(200);
    await request(t.app).get('/api/auth/sessions').set('Authorization', auth).expect(200);
    await request(t.app).get('/api/users/me/export').set('Authorization', auth).expect(200);
    const view = await request(t.app).get('/api/users/me/consents').set('Authorization', auth).expect(200);
    expect(view.body).toEqual({
      documents: IN_FORCE.map(({ document, version }) => ({ document, currentVersion: version, state: 'none', acceptedVersion: null, at: null })),
      outstanding: IN_FORCE,
      history: [],
    });

    for (const consent of IN_FORCE) await request(t.app).post('/api/users/me/consents').set('Authorization', auth).send(consent).expect(200);
    await request(t.app).get('/api/sessions').set('Authorization', auth).expect(200);
    expect(await recordsOf(user)).toHaveLength(3);
  });

  it('asks again when a document has a new version: the one given before is outdated until the current one is accepted', async () => {
    const { user, auth } = await person([IN_FORCE[0], { document: 'privacy', version: '2025-01' }, IN_FORCE[2]]);

    const refused = await request(t.app).get('/api/sessions').set('Authorization', auth).expect(403);
    expect(refused.body.documents).toEqual([IN_FORCE[1]]);
    const view = await request(t.app).get('/api/users/me/consents').set('Authorization', auth).expect(200);
    expect(view.body.documents[1]).toMatchObject({ document: 'privacy', state: 'outdated', acceptedVersion: '2025-01', currentVersion: '2026-02' });

    const stale = await request(t.app).post('/api/users/me/consents').set('Authorization', auth).send({ document: 'privacy', version: '2025-01' }).expect(409);
    expect(stale.body).toMatchObject({ code: 'CONSENT_VERSION_NOT_CURRENT', currentVersion: '2026-02' });
    await request(t.app).post('/api/users/me/consents').set('Authorization', auth).send(IN_FORCE[1]).expect(200);
    await request(t.app).get('/api/sessions').set('Authorization', auth).expect(200);
    // Accepting again what stands adds no record.
    await request(t.app).post('/api/users/me/consents').set('Authorization', auth).send(IN_FORCE[1]).expect(200);
    expect((await recordsOf(user)).filter((row) => row.document === 'privacy')).toEqual([
      { document: 'privacy', version: '2025-01', action: 'given' },
      { document: 'privacy', version: '2026-02', action: 'given' },
    ]);
  });

  it('closes the live channel with 4403 CONSENT_REQUIRED at its auth message, and lets it open once the documents are accepted', async () => {
    const { auth } = await person([]);
    const token = auth.replace(/^Bearer /, '');
    const live = await serveLive(t);
    try {
      const refused = await LiveClient.connect(live.url);
      refused.send({ type: 'auth', token });
      expect(await refused.closedWithin()).toEqual({ code: 4403, reason: 'CONSENT_REQUIRED' });

      for (const consent of IN_FORCE) await request(t.app).post('/api/users/me/consents').set('Authorization', auth).send(consent).expect(200);
      const accepted = await LiveClient.signedIn(live.url, token);
      accepted.close();
    } finally {
      await live.close();
    }
  });

  it('does not stand in the way of the monitoring and metrics tokens, which are no person', async () => {
    const app = await createTestApp({ env: { CONSENT_DOCUMENTS: 'terms:1', MONITORING_TOKEN: 'm'.repeat(32) } });
    try {
      await request(app.app).get('/api/errors/stats').set('Authorization', `Bearer ${'m'.repeat(32)}`).expect(200);
    } finally {
      await app.close();
    }
  });
});

describe('withdrawing consent (DELETE /api/users/me/consents/:document)', () => {
  it('withdrawn health-data consent stops new counseling content about the person (409) and deletes nothing, until given again', async () => {
    const client = await person();
    const counselor = await createUser(t, { role: 'counselor' });
    const practice = await make.organization();
    await make.member(practice.id, client.user.id, 'client');
    await make.member(practice.id, counselor.id, 'counselor');
    await make.care(practice.id, counselor.id, client.user.id);
    await t.context.models.ConsentRecord.bulkCreate(IN_FORCE.map((given) => ({ userId: counselor.id, ...given, action: 'given' as const })));
    const counselorAuth = bearer((await login(t, counselor)).accessToken);
    const session = await request(t.app).post('/api/sessions').set('Authorization', client.auth).send({ counselorId: counselor.id }).expect(201);
    const entry = { kind: 'note', text: 'Worked on sleep.' };
    await request(t.app).post(`/api/sessions/${session.body.id}/entries`).set('Authorization', client.auth).send(entry).expect(201);

    await request(t.app).delete('/api/users/me/consents/health_data_processing').set('Authorization', client.auth).expect(204);

    // Still signed in and able to read what exists: a withdrawal is no gate.
    const entries = await request(t.app).get(`/api/sessions/${session.body.id}/entries`).set('Authorization', client.auth).expect(200);
    expect(entries.body.items).toHaveLength(1);
    const view = await request(t.app).get('/api/users/me/consents').set('Authorization', client.auth).expect(200);
    expect(view.body.outstanding).toEqual([]);
    expect(view.body.documents[2]).toMatchObject({ document: 'health_data_processing', state: 'withdrawn', acceptedVersion: null });
    // Nothing new: not by the client, not by their counselor, no new session, no attachment, no feedback.
    for (const [auth, path, body] of [
      [client.auth, `/api/sessions/${session.body.id}/entries`, entry],
      [counselorAuth, `/api/sessions/${session.body.id}/entries`, { kind: 'note', text: 'About the client.' }],
      [client.auth, '/api/sessions', {}],
    ] as const) {
      const res = await request(t.app).post(path).set('Authorization', auth).send(body).expect(409);
      expect(res.body.code).toBe('HEALTH_DATA_CONSENT_WITHDRAWN');
    }
    const attachment = await request(t.app).post(`/api/sessions/${session.body.id}/attachments`).set('Authorization', client.auth).attach('file', Buffer.from('My homework.\n'), 'homework.txt').expect(409);
    expect(attachment.body.code).toBe('HEALTH_DATA_CONSENT_WITHDRAWN');
    expect(await t.context.models.StoredFile.count({ where: { sessionId: session.body.id } })).toBe(0);
    await request(t.app).post(`/api/sessions/${session.body.id}/end`).set('Authorization', client.auth).expect(200);
    const feedback = await request(t.app).post(`/api/sessions/${session.body.id}/feedback`).set('Authorization', client.auth).send({ rating: 5, comment: 'Thanks' }).expect(409);
    expect(feedback.body.code).toBe('HEALTH_DATA_CONSENT_WITHDRAWN');
    expect(await t.context.models.SessionEntry.count({ where: { sessionId: session.body.id } })).toBe(1);
    expect(await t.context.models.CounselingSession.count({ where: { userId: client.user.id } })).toBe(1);

    await request(t.app).post('/api/users/me/consents').set('Authorization', client.auth).send(IN_FORCE[2]).expect(200);
    await request(t.app).post(`/api/sessions/${session.body.id}/feedback`).set('Authorization', client.auth).send({ rating: 5 }).expect(201);
    expect(await recordsOf(client.user)).toEqual([
      ...IN_FORCE.map((given) => ({ ...given, action: 'given' })),
      { ...IN_FORCE[2], action: 'withdrawn' },
      { ...IN_FORCE[2], action: 'given' },
    ]);
  });

  it('withdrawn terms leave the consent routes, export and deletion open, and nothing else', async () => {
    const { user, auth } = await person();
    await request(t.app).delete('/api/users/me/consents/terms').set('Authorization', auth).expect(204);
    // A second withdrawal changes nothing.
    await request(t.app).delete('/api/users/me/consents/terms').set('Authorization', auth).expect(204);

    expect((await request(t.app).get('/api/sessions').set('Authorization', auth).expect(403)).body.documents).toEqual([IN_FORCE[0]]);
    const exported = await request(t.app).get('/api/users/me/export').set('Authorization', auth).expect(200);
    expect(exported.body.consents).toEqual([
      ...IN_FORCE.map((given) => ({ ...given, action: 'given', at: expect.any(String) })),
      { ...IN_FORCE[0], action: 'withdrawn', at: expect.any(String) },
    ]);
    await t.context.events.flush();
    const withdrawn = await t.context.models.SecurityEvent.findAll({ where: { userId: user.id, type: 'consent_withdrawn' } });
    expect(withdrawn.map((event) => event.metadata)).toEqual([{ document: 'terms', version: '2026-01' }]);

    await request(t.app).delete('/api/users/me').set('Authorization', auth).send({ password: TEST_PASSWORD }).expect(204);
    expect(await t.context.models.ConsentRecord.count({ where: { userId: user.id } })).toBe(0);
  });

  it('answers 404 for a document that is not in force, 400 for one that does not exist', async () => {
    const app = await createTestApp({ env: { CONSENT_DOCUMENTS: 'terms:1' } });
    try {
      const user = await createUser(app);
      await app.context.models.ConsentRecord.create({ userId: user.id, document: 'terms', version: '1', action: 'given' });
      const auth = bearer((await login(app, user)).accessToken);
      await request(app.app).delete('/api/users/me/consents/privacy').set('Authorization', auth).expect(404);
      const unknown = await request(app.app).post('/api/users/me/consents').set('Authorization', auth).send({ document: 'privacy', version: '1' }).expect(422);
      expect(unknown.body.code).toBe('UNKNOWN_DOCUMENT');
      await request(app.app).delete('/api/users/me/consents/cookies').set('Authorization', auth).expect(400);
      // Registration too: accepting a document that is not in force makes no account.
      const email = 'extra-consent@example.com';
      const extra = await request(app.app).post('/api/auth/register').send({ email, password: STRONG, name: 'Extra', consents: [{ document: 'terms', version: '1' }, { document: 'privacy', version: '1' }] }).expect(422);
      expect(extra.body.code).toBe('UNKNOWN_DOCUMENT');
      expect(await app.context.models.User.count({ where: { email } })).toBe(0);
      // Health data is not asked for here: content is stored without it.
      await request(app.app).post('/api/sessions').set('Authorization', auth).send({}).expect(201);
    } finally {
      await app.close();
    }
  });
});

describe('consents across two instances sharing Redis', () => {
  let database: TestDatabase;
  let redis: PrivateRedis;
  const apps: BuiltApp[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = await startPrivateRedis();
    const env = await sharedInstanceEnv(database, { redisUrl: redis.url, name: 'consent', env: { CONSENT_DOCUMENTS: 'terms:1,health_data_processing:1' } });
    for (let i = 0; i < 2; i += 1) {
      const config = loadConfig(env);
      apps.push(createApp({ config, sequelize: createSequelize(config) }));
    }
    for (let i = 0; i < 400 && !apps.every((app) => app.infra.shared!.ready); i += 1) await sleep(25);
  }, 60_000);

  afterAll(async () => {
    for (const app of apps) await app.drain().catch(() => undefined);
    await redis?.stop();
    await database?.drop();
  });

  it('a withdrawal on one instance closes the gate of the other, whose cache held the consent', async () => {
    const [a, b] = apps as [BuiltApp, BuiltApp];
    const user = await createUser({ context: a.infra } as unknown as TestApp);
    for (const document of ['terms', 'health_data_processing'] as const) await a.infra.models.ConsentRecord.create({ userId: user.id, document, version: '1', action: 'given' });
    const token = (await request(a.app).post('/api/auth/login').send({ email: user.email, password: user.password, transport: 'body' }).expect(200)).body.accessToken as string;
    const sessionsOn = (app: BuiltApp) => request(app.app).get('/api/sessions').set('Authorization', bearer(token));
    await sessionsOn(a).expect(200); // A caches the person's consents

    await request(b.app).delete('/api/users/me/consents/terms').set('Authorization', bearer(token)).expect(204);

    let status = 0;
    for (let i = 0; i < 200 && status !== 403; i += 1) {
      status = (await sessionsOn(a)).status;
      if (status !== 403) await sleep(25);
    }
    expect(status).toBe(403);
  });
});
