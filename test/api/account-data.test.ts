import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { QueryTypes } from 'sequelize';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/crypto/passwords.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { inCareOf } from '../helpers/practice.js';
import { createUser, type TestUser } from '../helpers/users.js';

const UA = 'account-data-test/1.0 (distinctive agent)';

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true, env: { TRUST_PROXY: '1' } });
  // The chain gets its first link before any traffic (its first seal under load is audit-chain.test.ts's business).
  t.context.events.record({ type: 'suspicious_activity', metadata: { note: 'first link' } });
  await settle();
});
afterAll(async () => {
  await t.context.events.flush();
  await t.context.auditChain.sealPending().catch(() => undefined);
  await t.close();
});

/**
 * Writes queued events, lets the app's own scheduled sealing (200 ms after a write) run,
 * and seals the rest, so the chain can be verified and nothing races what comes next.
 */
async function settle(): Promise<void> {
  await t.context.events.flush();
  await sleep(250);
  for (let attempt = 0; attempt < 200; attempt += 1) {
    await t.context.auditChain.sealPending();
    if ((await t.context.models.SecurityEvent.count({ where: { seq: null } })) === 0) return;
    await sleep(10);
  }
  throw new Error('events stayed unsealed');
}

/** Text nobody could guess, so finding it anywhere means it leaked. */
const secretText = (label: string) => `${label} ${randomUUID()}`;

interface Signed {
  user: TestUser;
  auth: string;
  accessToken: string;
  refreshToken: string;
}

async function signIn(user: TestUser, from?: string): Promise<Signed> {
  const req = request(t.app).post('/api/auth/login').set('User-Agent', UA);
  const res = await (from ? req.set('X-Forwarded-For', from) : req).send({ email: user.email, password: user.password, transport: 'body' }).expect(200);
  return { user, auth: `Bearer ${res.body.accessToken as string}`, accessToken: res.body.accessToken, refreshToken: res.body.refreshToken };
}

async function countWhere(table: string, column: string, id: string): Promise<number> {
  const [row] = await t.sequelize.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} = :id`, { replacements: { id }, type: QueryTypes.SELECT });
  return Number(row!.n);
}

/** Every object key anywhere in a JSON document. */
function allKeys(value: unknown, keys: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) allKeys(item, keys);
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      keys.push(key);
      allKeys(item, keys);
    }
  }
  return keys;
}

interface SessionTexts {
  sessionId: string;
  clientVisible: string[];
  privateNote: string | null;
  feedback: string | null;
}

/** A session of `client` (optionally with `counselor`) with texts from both, ended with feedback when asked. */
async function sessionWithTexts(client: Signed, counselor: Signed | null, label: string, options: { end?: boolean; idempotencyKey?: string } = {}): Promise<SessionTexts> {
  const start = request(t.app).post('/api/sessions').set('Authorization', client.auth);
  const started = await (options.idempotencyKey ? start.set('Idempotency-Key', options.idempotencyKey) : start)
    .send({ ...(counselor && { counselorId: counselor.user.id }), topic: `${label} topic` })
    .expect(201);
  const sessionId = started.body.id as string;
  const add = (who: Signed, body: object) => request(t.app).post(`/api/sessions/${sessionId}/entries`).set('Authorization', who.auth).send(body).expect(201);
  const clientVisible = [secretText(`${label} client note`), secretText(`${label} client transcript`)];
  await add(client, { kind: 'note', text: clientVisible[0] });
  await add(client, { kind: 'transcript', text: clientVisible[1], speaker: 'client' });
  await add(client, { kind: 'emotion', emotion: 'hope', valence: 0.3, arousal: 0.4 });
  let privateNote: string | null = null;
  if (counselor) {
    privateNote = secretText(`${label} counselor private note`);
    await add(counselor, { kind: 'note', text: privateNote });
    const spoken = secretText(`${label} counselor transcript`);
    await add(counselor, { kind: 'transcript', text: spoken, speaker: 'counselor' });
    clientVisible.push(spoken);
  }
  let feedback: string | null = null;
  if (options.end) {
    await request(t.app).post(`/api/sessions/${sessionId}/end`).set('Authorization', client.auth).expect(200);
    feedback = secretText(`${label} feedback`);
    await request(t.app).post(`/api/sessions/${sessionId}/feedback`).set('Authorization', client.auth).send({ rating: 5, comment: feedback }).expect(201);
  }
  return { sessionId, clientVisible, privateNote, feedback };
}

describe('GET /api/users/me/export', () => {
  let client: Signed;
  let counselor: Signed;
  let other: Signed;
  let withCounselor: SessionTexts;
  let alone: SessionTexts;
  let othersSession: SessionTexts;
  let exported: Record<string, unknown>;
  let exportText: string;
  const logins: Signed[] = [];

  beforeAll(async () => {
    const clientUser = await createUser(t, { name: 'Export Client Aurelia' });
    const counselorUser = await createUser(t, { role: 'counselor', name: 'Export Counselor Bartholomew' });
    const otherUser = await createUser(t, { name: 'Export Stranger Cordelia' });
    await inCareOf(t, counselorUser.id, clientUser.id);
    await inCareOf(t, counselorUser.id, otherUser.id);
    logins.push(await signIn(clientUser, '203.0.113.77'), await signIn(clientUser, '2001:db8:abcd:12::99'));
    client = await signIn(clientUser);
    logins.push(client);
    counselor = await signIn(counselorUser, '198.51.100.23');
    other = await signIn(otherUser, '192.0.2.150');
    await request(t.app).post('/api/auth/login').set('X-Forwarded-For', '203.0.113.78').send({ email: clientUser.email, password: 'a-wrong-password-for-export-1' }).expect(401);
    await request(t.app).put('/api/users/me/preferences').set('Authorization', client.auth).send({ language: 'de', theme: 'dark', timezone: 'Europe/Berlin' }).expect(200);
    await request(t.app).put('/api/users/me/preferences').set('Authorization', other.auth).send({ language: 'fr', theme: 'light', timezone: 'America/Toronto' }).expect(200);

    withCounselor = await sessionWithTexts(client, counselor, 'client+counselor', { end: true });
    alone = await sessionWithTexts(client, null, 'client alone');
    othersSession = await sessionWithTexts(other, counselor, 'stranger', { end: true });
    await settle();

    const res = await request(t.app).get('/api/users/me/export').set('Authorization', client.auth).expect(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.headers['content-disposition']).toMatch(/attachment; filename="confidant-export\.json"/);
    exported = res.body as Record<string, unknown>;
    exportText = JSON.stringify(exported);
  });

  it('holds the profile and the preferences', () => {
    expect(exported).toMatchObject({ format: 'confidant-export', version: 1 });
    expect(exported.profile).toMatchObject({ id: client.user.id, email: client.user.email, name: 'Export Client Aurelia', role: 'user' });
    expect(exported.preferences).toMatchObject({ language: 'de', theme: 'dark', timezone: 'Europe/Berlin' });
    expect(exported).not.toHaveProperty('counseledSessions');
  });

  it('holds the login sessions with pseudonymised addresses and without any hash or token', () => {
    const sessions = exported.loginSessions as { id: string; ip: string | null; userAgent: string | null }[];
    expect(sessions).toHaveLength(3);
    expect(sessions.map((session) => session.ip).sort()).toEqual(['127.0.0.0/24', '2001:db8:abcd::/48', '203.0.113.0/24'].sort());
    for (const session of sessions) expect(session.userAgent).toBe(UA);
    for (const raw of ['203.0.113.77', '203.0.113.78', '2001:db8:abcd:12::99', '127.0.0.1', '::ffff:127']) expect(exportText).not.toContain(raw);

    const keys = allKeys(exported);
    expect(keys.filter((key) => /hash|digest|password|secret|token/i.test(key))).toEqual([]);
    expect(keys).not.toContain('refreshTokenHash');
    expect(keys).not.toContain('previousTokenHash');
    expect(keys).not.toContain('prevHash');
    expect(exportText).not.toContain('$argon2');
    for (const login of logins) {
      expect(exportText).not.toContain(login.accessToken);
      expect(exportText).not.toContain(login.refreshToken);
    }
  });

  it('holds the counseling sessions with their decrypted entries and feedback, but not the counselor’s private note', () => {
    const sessions = exported.counselingSessions as { id: string; counselorId: string | null; entries: { kind: string; text: string | null }[]; feedback: { rating: number; comment: string | null } | null }[];
    expect(sessions.map((session) => session.id).sort()).toEqual([withCounselor.sessionId, alone.sessionId].sort());
    const first = sessions.find((session) => session.id === withCounselor.sessionId)!;
    expect(first.entries.map((entry) => entry.text).filter((text) => text !== null).sort()).toEqual([...withCounselor.clientVisible].sort());
    expect(first.entries.filter((entry) => entry.kind === 'emotion')).toHaveLength(1);
    expect(first.feedback).toMatchObject({ rating: 5, comment: withCounselor.feedback });
    const second = sessions.find((session) => session.id === alone.sessionId)!;
    expect(second.entries.map((entry) => entry.text).filter((text) => text !== null).sort()).toEqual([...alone.clientVisible].sort());
    expect(second.feedback).toBeNull();

    expect(exportText).not.toContain(withCounselor.privateNote!);
    expect(exportText).not.toContain('enc1:');
  });

  it('holds the caller’s security events with pseudonymised addresses', () => {
    const events = exported.securityEvents as { type: string; userId: string; ip: string | null }[];
    expect(events.map((event) => event.type)).toEqual(expect.arrayContaining(['login_success', 'login_failure']));
    for (const event of events) {
      expect(event.userId).toBe(client.user.id);
      if (event.ip !== null) expect(event.ip).toMatch(/\/(24|48)$/);
    }
    expect(events.map((event) => event.ip)).toEqual(expect.arrayContaining(['203.0.113.0/24', '2001:db8:abcd::/48']));
  });

  it('holds nothing of anyone else: not the counselor’s or another client’s email, name, texts or preferences', () => {
    for (const foreign of [
      counselor.user.email,
      'Export Counselor Bartholomew',
      other.user.email,
      'Export Stranger Cordelia',
      other.user.id,
      othersSession.sessionId,
      ...othersSession.clientVisible,
      othersSession.privateNote!,
      othersSession.feedback!,
      'America/Toronto',
      '198.51.100',
      '192.0.2',
    ]) {
      expect(exportText).not.toContain(foreign);
    }
  });

  it('records a data_exported security event for every export', async () => {
    const count = () => t.context.models.SecurityEvent.count({ where: { userId: client.user.id, type: 'data_exported' } });
    await t.context.events.flush();
    expect(await count()).toBe(1);
    const again = await request(t.app).get('/api/users/me/export').set('Authorization', client.auth).expect(200);
    await t.context.events.flush();
    expect(await count()).toBe(2);
    expect((again.body.securityEvents as { type: string }[]).map((event) => event.type)).toContain('data_exported');
    const otherExport = await request(t.app).get('/api/users/me/export').set('Authorization', other.auth).expect(200);
    expect(otherExport.body.profile.id).toBe(other.user.id);
    await t.context.events.flush();
    expect(await count()).toBe(2);
    expect(await t.context.models.SecurityEvent.count({ where: { userId: other.user.id, type: 'data_exported' } })).toBe(1);
  });

  it('a counselor’s export counts the sessions they held but holds none of their clients’ entries', async () => {
    const res = await request(t.app).get('/api/users/me/export').set('Authorization', counselor.auth).expect(200);
    const text = JSON.stringify(res.body);
    expect(res.body.profile).toMatchObject({ id: counselor.user.id, role: 'counselor' });
    expect(res.body.counseledSessions).toEqual({ count: 2 });
    expect(res.body.counselingSessions).toEqual([]);
    for (const foreign of [
      client.user.email,
      'Export Client Aurelia',
      other.user.email,
      ...withCounselor.clientVisible,
      withCounselor.feedback!,
      ...othersSession.clientVisible,
      othersSession.feedback!,
      ...alone.clientVisible,
    ]) {
      expect(text).not.toContain(foreign);
    }
    expect(res.body.loginSessions.map((session: { ip: string }) => session.ip)).toEqual(['198.51.100.0/24']);
  });

  it('is only ever the caller’s own: no route names another user, a query parameter changes nothing, no token no export', async () => {
    await request(t.app).get(`/api/users/${other.user.id}`).set('Authorization', client.auth).expect(404);
    await request(t.app).get(`/api/users/${other.user.id}/export`).set('Authorization', client.auth).expect(404);
    await request(t.app).delete(`/api/users/${other.user.id}`).set('Authorization', client.auth).send({ password: client.user.password }).expect(404);
    const res = await request(t.app).get('/api/users/me/export').query({ userId: other.user.id }).set('Authorization', client.auth).expect(200);
    expect(res.body.profile.id).toBe(client.user.id);
    expect(JSON.stringify(res.body)).not.toContain(other.user.email);
    await request(t.app).get('/api/users/me/export').expect(401);
    await request(t.app).get('/api/users/me/export').set('Authorization', 'Bearer not-a-token').expect(401);
    expect(await countWhere('users', 'id', other.user.id)).toBe(1);
  });
});

describe('DELETE /api/users/me', () => {
  const PERSONAL_TABLES = [
    ['counseling_sessions', 'user_id'],
    ['session_entries', 'user_id'],
    ['session_feedback', 'user_id'],
    ['user_preferences', 'user_id'],
    ['auth_sessions', 'user_id'],
    ['one_time_tokens', 'user_id'],
    ['idempotency_keys', 'user_id'],
    ['users', 'id'],
  ] as const;

  async function personalCounts(userId: string): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const [table, column] of PERSONAL_TABLES) counts[table] = await countWhere(table, column, userId);
    return counts;
  }

  /** A user with something in every table that holds personal data. */
  async function userWithData(options: { role?: 'user' | 'counselor' } = {}) {
    const user = await createUser(t, { role: options.role });
    const first = await signIn(user, '203.0.113.201');
    const second = await signIn(user, '2001:db8:feed::7');
    await request(t.app).put('/api/users/me/preferences').set('Authorization', first.auth).send({ theme: 'dark' }).expect(200);
    const texts = [
      await sessionWithTexts(first, null, 'leaving', { end: true, idempotencyKey: `leave-${randomUUID()}` }),
      await sessionWithTexts(first, null, 'leaving again'),
    ];
    await request(t.app).post('/api/auth/forgot-password').send({ email: user.email }).expect(202);
    await t.modules.auth.idle();
    await settle();
    const counts = await personalCounts(user.id);
    for (const [table] of PERSONAL_TABLES) expect(counts[table], table).toBeGreaterThan(0);
    return { user, first, second, texts, counts };
  }

  it('refuses a missing or malformed body with 400 and deletes nothing', async () => {
    const { user, first, counts } = await userWithData();
    await request(t.app).delete('/api/users/me').set('Authorization', first.auth).expect(400);
    await request(t.app).delete('/api/users/me').set('Authorization', first.auth).send({}).expect(400);
    await request(t.app).delete('/api/users/me').set('Authorization', first.auth).send({ password: '' }).expect(400);
    await request(t.app).delete('/api/users/me').set('Authorization', first.auth).send({ password: 42 }).expect(400);
    await request(t.app).delete('/api/users/me').set('Authorization', first.auth).send({ password: user.password, userId: randomUUID() }).expect(400);
    expect(await personalCounts(user.id)).toEqual(counts);
    await request(t.app).get('/api/users/me').set('Authorization', first.auth).expect(200);
  });

  it('refuses a wrong password with 403 INVALID_PASSWORD, deletes nothing and keeps the sessions working', async () => {
    const { user, first, second, counts } = await userWithData();
    const res = await request(t.app).delete('/api/users/me').set('Authorization', first.auth).send({ password: 'certainly-not-the-password-55' }).expect(403);
    expect(res.body.code).toBe('INVALID_PASSWORD');
    expect(await personalCounts(user.id)).toEqual(counts);
    await request(t.app).get('/api/users/me').set('Authorization', first.auth).expect(200);
    await request(t.app).get('/api/users/me').set('Authorization', second.auth).expect(200);
    await t.context.events.flush();
    const failures = await t.context.models.SecurityEvent.findAll({ where: { userId: user.id, type: 'login_failure' } });
    expect(failures.map((event) => event.metadata)).toContainEqual({ reason: 'delete_account_wrong_password' });
  });

  it('refuses another user’s password: nobody can delete an account but its owner', async () => {
    const victimPassword = 'granite-meadow-orchid-compass-93';
    const victimRow = await t.context.models.User.create({ email: `victim-${randomUUID().slice(0, 8)}@example.com`, name: 'Victim', role: 'user', passwordHash: await hashPassword(victimPassword), emailVerifiedAt: new Date() });
    const victim = await signIn({ id: victimRow.id, email: victimRow.email, name: 'Victim', role: 'user', password: victimPassword });
    const attacker = await signIn(await createUser(t));
    const res = await request(t.app).delete('/api/users/me').set('Authorization', attacker.auth).send({ password: victimPassword }).expect(403);
    expect(res.body.code).toBe('INVALID_PASSWORD');
    expect(await countWhere('users', 'id', victimRow.id)).toBe(1);
    expect(await countWhere('users', 'id', attacker.user.id)).toBe(1);
    await request(t.app).get('/api/users/me').set('Authorization', victim.auth).expect(200);
    await request(t.app).delete(`/api/users/${victimRow.id}`).set('Authorization', attacker.auth).send({ password: attacker.user.password }).expect(404);
    expect(await countWhere('users', 'id', victimRow.id)).toBe(1);
  });

  it('with the password: 204, every personal row gone, events kept without personal data, every token refused, the chain intact', async () => {
    const { user, first, second, texts } = await userWithData();
    const bystander = await signIn(await createUser(t));
    const bystanderSession = await sessionWithTexts(bystander, null, 'bystander');
    await settle();
    const eventIds = (await t.context.models.SecurityEvent.findAll({ where: { userId: user.id } })).map((event) => event.id);
    expect(eventIds.length).toBeGreaterThanOrEqual(3); // two logins, the reset request
    const deletedBefore = await t.context.models.SecurityEvent.count({ where: { type: 'account_deleted' } });

    await request(t.app).delete('/api/users/me').set('Authorization', first.auth).set('User-Agent', UA).send({ password: user.password }).expect(204);

    // Every access token of the user is refused at once, and nothing else works either.
    await request(t.app).get('/api/users/me').set('Authorization', first.auth).expect(401);
    await request(t.app).get('/api/users/me').set('Authorization', second.auth).expect(401);
    await request(t.app).get('/api/users/me/export').set('Authorization', second.auth).expect(401);
    await request(t.app).post('/api/auth/refresh').send({ refreshToken: second.refreshToken }).expect(401);
    await request(t.app).post('/api/auth/login').send({ email: user.email, password: user.password }).expect(401);

    const counts = await personalCounts(user.id);
    for (const [table] of PERSONAL_TABLES) expect(counts[table], table).toBe(0);
    for (const session of texts) {
      expect(await countWhere('session_entries', 'session_id', session.sessionId)).toBe(0);
      expect(await countWhere('session_feedback', 'session_id', session.sessionId)).toBe(0);
    }

    await settle();
    const kept = await t.sequelize.query<{ id: string; user_id: string | null; ip: string | null; user_agent: string | null; metadata: unknown; scrubbed_at: unknown }>(
      'SELECT id, user_id, ip, user_agent, metadata, scrubbed_at FROM security_events WHERE id IN (:ids)',
      { replacements: { ids: eventIds }, type: QueryTypes.SELECT },
    );
    expect(kept).toHaveLength(eventIds.length);
    for (const event of kept) {
      expect(event.user_id).toBeNull();
      expect(event.ip).toBeNull();
      expect(event.user_agent).toBeNull();
      expect(typeof event.metadata === 'string' ? JSON.parse(event.metadata) : event.metadata).toEqual({});
      expect(event.scrubbed_at).not.toBeNull();
    }
    expect(await t.context.models.SecurityEvent.count({ where: { userId: user.id } })).toBe(0);
    const deletions = await t.context.models.SecurityEvent.findAll({ where: { type: 'account_deleted' }, order: [['createdAt', 'ASC']] });
    expect(deletions).toHaveLength(deletedBefore + 1);
    expect(deletions.at(-1)!.metadata).toEqual({ role: 'user', dataKeysDestroyed: 1 }); // the client's data key went first
    expect(deletions.at(-1)!.userId).toBeNull();
    expect(JSON.stringify(deletions.at(-1)!.get({ plain: true }))).not.toContain(user.email);

    const chain = await t.context.auditChain.verify();
    expect(chain).toMatchObject({ ok: true, unsealed: 0 });
    expect(chain.verified).toBe(await t.context.models.SecurityEvent.count());

    // Nobody else lost anything.
    expect(await countWhere('session_entries', 'session_id', bystanderSession.sessionId)).toBe(3);
    await request(t.app).get('/api/users/me').set('Authorization', bystander.auth).expect(200);
  });

  it('a counselor’s deletion keeps their clients’ sessions and entries, without the counselor', async () => {
    const counselor = await signIn(await createUser(t, { role: 'counselor' }));
    const client = await signIn(await createUser(t));
    await inCareOf(t, counselor.user.id, client.user.id);
    const shared = await sessionWithTexts(client, counselor, 'counseled', { end: true });
    const entriesBefore = await countWhere('session_entries', 'session_id', shared.sessionId);
    expect(entriesBefore).toBe(5);
    const before = await request(t.app).get('/api/users/me/export').set('Authorization', counselor.auth).expect(200);
    expect(before.body.counseledSessions).toEqual({ count: 1 });

    await request(t.app).delete('/api/users/me').set('Authorization', counselor.auth).send({ password: counselor.user.password }).expect(204);
    await request(t.app).get('/api/users/me').set('Authorization', counselor.auth).expect(401);

    const [session] = await t.sequelize.query<{ counselor_id: string | null; user_id: string }>('SELECT counselor_id, user_id FROM counseling_sessions WHERE id = :id', {
      replacements: { id: shared.sessionId },
      type: QueryTypes.SELECT,
    });
    expect(session).toEqual({ counselor_id: null, user_id: client.user.id });
    expect(await countWhere('session_entries', 'session_id', shared.sessionId)).toBe(entriesBefore);
    expect(await countWhere('session_entries', 'author_id', counselor.user.id)).toBe(0);
    expect(await countWhere('session_feedback', 'session_id', shared.sessionId)).toBe(1);

    const entries = await request(t.app).get(`/api/sessions/${shared.sessionId}/entries`).set('Authorization', client.auth).expect(200);
    const visible = (entries.body.items as { text?: string }[]).map((item) => item.text).filter((text) => text !== undefined);
    expect(visible.sort()).toEqual([...shared.clientVisible].sort());
    const report = await request(t.app).get(`/api/sessions/${shared.sessionId}/report`).set('Authorization', client.auth).expect(200);
    expect(report.body.feedback.comment).toBe(shared.feedback);
    const clientExport = await request(t.app).get('/api/users/me/export').set('Authorization', client.auth).expect(200);
    expect(clientExport.body.counselingSessions[0]).toMatchObject({ id: shared.sessionId, counselorId: null });

    await settle();
    expect((await t.context.auditChain.verify()).ok).toBe(true);
  });
});
