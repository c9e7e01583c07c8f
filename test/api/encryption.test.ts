import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import type { Express } from 'express';
import { QueryTypes } from 'sequelize';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { DataKeys } from '../../src/crypto/data-keys.js';
import type { Logger } from '../../src/infra/logger.js';
import { textContext } from '../../src/modules/sessions/session-views.js';
import { LENIENT_LIMITS, createTestApp, type TestApp } from '../helpers/app.js';
import { runCli } from '../helpers/cli.js';
import { inCareOf } from '../helpers/practice.js';
import { createUser, type TestUser } from '../helpers/users.js';

const K1 = 'first-data-encryption-key-for-tests-0123456789';
const K2 = 'second-data-encryption-key-for-tests-9876543210';
/** The id of the master key derived from a DATA_ENCRYPTION_KEY, as the key store records it. */
const masterId = (secret: string) => new DataKeys(undefined as never, secret).currentMasterKeyId;
const ENC2 = /^enc2:[0-9a-f]{32}:/;

interface EntryRow {
  id: string;
  session_id: string;
  text: string;
}
interface FeedbackRow {
  session_id: string;
  comment: string;
}

/** Text nobody could guess, so finding it anywhere means it leaked. */
const secretText = (label: string) => `${label} ${randomUUID()} marker-${randomUUID().slice(0, 8)}`;

/** Where a test app's database is, so a second app can be built over the same one. */
function databaseEnv(t: TestApp): Record<string, string> {
  return t.config.database.url ? { DATABASE_URL: t.config.database.url } : { DATA_DIR: t.config.dataDir };
}

/** Another instance of the real app over the same database (and Sequelize) as `t`, with its own data keys. */
function appOver(t: TestApp, keys: { DATA_ENCRYPTION_KEY: string; DATA_ENCRYPTION_KEYS_PREVIOUS?: string }) {
  const config = loadConfig({ NODE_ENV: 'test', ...LENIENT_LIMITS, ...databaseEnv(t), AUTH_SECRET: t.config.secrets.authSecret, ...keys });
  return createApp({ config, sequelize: t.sequelize });
}

async function bearer(app: Express, user: TestUser): Promise<string> {
  const res = await request(app).post('/api/auth/login').send({ email: user.email, password: user.password, transport: 'body' }).expect(200);
  return `Bearer ${res.body.accessToken as string}`;
}

async function entryRows(t: TestApp): Promise<EntryRow[]> {
  return t.sequelize.query<EntryRow>('SELECT id, session_id, text FROM session_entries WHERE text IS NOT NULL ORDER BY id', { type: QueryTypes.SELECT });
}

async function feedbackRows(t: TestApp): Promise<FeedbackRow[]> {
  return t.sequelize.query<FeedbackRow>('SELECT session_id, comment FROM session_feedback WHERE comment IS NOT NULL ORDER BY session_id', { type: QueryTypes.SELECT });
}

/** Every stored encrypted value (entry text and feedback comments), raw. */
async function storedValues(t: TestApp): Promise<string[]> {
  return [...(await entryRows(t)).map((row) => row.text), ...(await feedbackRows(t)).map((row) => row.comment)];
}

/** Every row of every table as text: what a database dump would show. */
async function dumpDatabase(t: TestApp): Promise<string> {
  const tables = (await t.sequelize.getQueryInterface().showAllTables()).map((table) => (typeof table === 'string' ? table : (table as { tableName: string }).tableName));
  expect(tables).toContain('session_entries');
  const parts: string[] = [];
  for (const table of tables) {
    const rows = await t.sequelize.query(`SELECT * FROM ${t.sequelize.getQueryInterface().quoteIdentifier(table)}`, { type: QueryTypes.SELECT });
    parts.push(JSON.stringify(rows));
  }
  return parts.join('\n');
}

interface WrittenSession {
  sessionId: string;
  texts: string[];
  clientTexts: string[];
  feedback: string | null;
}

/**
 * Through the HTTP API of `app`: one open session with client and counselor notes and
 * transcripts (and an emotion), and one ended session with a feedback comment.
 */
async function writeSessions(app: Express, client: string, counselor: string, counselorId: string, label: string): Promise<WrittenSession[]> {
  const open = (await request(app).post('/api/sessions').set('Authorization', client).send({ counselorId, topic: `${label} topic` }).expect(201)).body.id as string;
  const clientNote = secretText(`${label} client note`);
  const clientTranscript = secretText(`${label} client transcript`);
  const counselorNote = secretText(`${label} private counselor note`);
  const counselorTranscript = secretText(`${label} counselor transcript`);
  const add = (auth: string, body: object) => request(app).post(`/api/sessions/${open}/entries`).set('Authorization', auth).send(body).expect(201);
  expect((await add(client, { kind: 'note', text: clientNote })).body.text).toBe(clientNote);
  expect((await add(client, { kind: 'transcript', text: clientTranscript, speaker: 'client' })).body.text).toBe(clientTranscript);
  expect((await add(counselor, { kind: 'note', text: counselorNote })).body.text).toBe(counselorNote);
  expect((await add(counselor, { kind: 'transcript', text: counselorTranscript, speaker: 'counselor' })).body.text).toBe(counselorTranscript);
  await add(client, { kind: 'emotion', emotion: 'anxiety', valence: -0.4, arousal: 0.7 });

  const ended = (await request(app).post('/api/sessions').set('Authorization', client).send({ counselorId }).expect(201)).body.id as string;
  const endedNote = secretText(`${label} last words`);
  await request(app).post(`/api/sessions/${ended}/entries`).set('Authorization', client).send({ kind: 'note', text: endedNote }).expect(201);
  await request(app).post(`/api/sessions/${ended}/end`).set('Authorization', client).expect(200);
  const comment = secretText(`${label} feedback comment`);
  const feedback = await request(app).post(`/api/sessions/${ended}/feedback`).set('Authorization', client).send({ rating: 4, comment }).expect(201);
  expect(feedback.body.comment).toBe(comment);

  return [
    { sessionId: open, texts: [clientNote, clientTranscript, counselorNote, counselorTranscript], clientTexts: [clientNote, clientTranscript, counselorTranscript], feedback: null },
    { sessionId: ended, texts: [endedNote], clientTexts: [endedNote], feedback: comment },
  ];
}

/** Reads every written text back through `app`: the counselor sees all entries, the client their own view and the feedback. */
async function expectReadable(app: Express, client: string, counselor: string, written: WrittenSession[]) {
  for (const session of written) {
    const asCounselor = await request(app).get(`/api/sessions/${session.sessionId}/entries`).set('Authorization', counselor).expect(200);
    const texts = (asCounselor.body.items as { text?: string }[]).map((item) => item.text).filter((text) => text !== undefined);
    expect(texts.sort()).toEqual([...session.texts].sort());
    const asClient = await request(app).get(`/api/sessions/${session.sessionId}/entries`).set('Authorization', client).expect(200);
    const clientTexts = (asClient.body.items as { text?: string }[]).map((item) => item.text).filter((text) => text !== undefined);
    expect(clientTexts.sort()).toEqual([...session.clientTexts].sort());
    const report = await request(app).get(`/api/sessions/${session.sessionId}/report`).set('Authorization', client).expect(200);
    expect(report.body.feedback?.comment ?? null).toBe(session.feedback);
  }
}

/** The app cannot read these sessions: a 500 problem that reveals neither the text nor the ciphertext. */
async function expectUnreadable(t: TestApp, app: Express, counselor: string, written: WrittenSession[]) {
  const ids = new Set(written.map((session) => session.sessionId));
  const stored = (await entryRows(t)).filter((row) => ids.has(row.session_id)).map((row) => row.text);
  expect(stored.length).toBeGreaterThan(0);
  for (const session of written) {
    const res = await request(app).get(`/api/sessions/${session.sessionId}/entries`).set('Authorization', counselor).expect(500);
    expect(res.headers['content-type']).toContain('application/problem+json');
    const body = JSON.stringify(res.body);
    for (const text of session.texts) expect(body).not.toContain(text);
    for (const value of stored) expect(body).not.toContain(value.slice(-20));
    expect(body).not.toMatch(/at .*\.ts:\d+|stack/i);
  }
}

describe('encryption at rest of counseling text', () => {
  let t: TestApp;
  let client: string;
  let counselor: string;
  let written: WrittenSession[];

  beforeAll(async () => {
    t = await createTestApp({ lenientLimits: true, env: { DATA_ENCRYPTION_KEY: K1 } });
    const clientUser = await createUser(t);
    const counselorUser = await createUser(t, { role: 'counselor' });
    await inCareOf(t, counselorUser.id, clientUser.id);
    client = await bearer(t.app, clientUser);
    counselor = await bearer(t.app, counselorUser);
    written = await writeSessions(t.app, client, counselor, counselorUser.id, 'at-rest');
  });
  afterAll(() => t.close());

  it('stores entry text and feedback comments only as enc2 ciphertext under the client’s data key, never the plaintext', async () => {
    const entries = await entryRows(t);
    const feedback = await feedbackRows(t);
    expect(entries).toHaveLength(5);
    expect(feedback).toHaveLength(1);
    const plaintexts = written.flatMap((session) => [...session.texts, ...(session.feedback ? [session.feedback] : [])]);
    for (const value of [...entries.map((row) => row.text), ...feedback.map((row) => row.comment)]) {
      expect(value).toMatch(ENC2);
      expect(value.split(':')[1]).toBe(entries[0]!.text.split(':')[1]); // one client, one key
      for (const plaintext of plaintexts) {
        expect(value).not.toContain(plaintext);
        expect(value).not.toContain(plaintext.split(' ').at(-1)!);
      }
    }
    // Emotion entries carry no text at all.
    const [emotionRow] = await t.sequelize.query<{ text: string | null }>("SELECT text FROM session_entries WHERE kind = 'emotion'", { type: QueryTypes.SELECT });
    expect(emotionRow?.text).toBeNull();
  });

  it('a dump of every table reveals no session text', async () => {
    const dump = await dumpDatabase(t);
    expect(dump).toContain('enc2:');
    for (const session of written) {
      for (const text of [...session.texts, ...(session.feedback ? [session.feedback] : [])]) {
        expect(dump).not.toContain(text);
        expect(dump).not.toContain(/[0-9a-f]{8}-[0-9a-f-]{27}/.exec(text)![0]); // the random part alone
      }
    }
  });

  it('still returns the plaintext through the API: entries, the client view without private notes, and the report', async () => {
    await expectReadable(t.app, client, counselor, written);
    const clientView = await request(t.app).get(`/api/sessions/${written[0]!.sessionId}/entries`).set('Authorization', client).expect(200);
    expect(JSON.stringify(clientView.body)).not.toContain(written[0]!.texts[2]!); // the counselor's private note
    expect(JSON.stringify(clientView.body)).not.toContain('enc1:');
  });

  it('binds each ciphertext to its row: an entry text moved to another row is refused with a 500, not shown', async () => {
    const [from, to] = await t.sequelize.query<{ id: string; text: string }>(
      `SELECT id, text FROM session_entries WHERE session_id = :sessionId AND text IS NOT NULL ORDER BY id`,
      { replacements: { sessionId: written[0]!.sessionId }, type: QueryTypes.SELECT },
    );
    expect(from && to).toBeTruthy();
    // Both decrypt where they are.
    const open = await t.context.content.opener([from!.text]);
    expect(() => open(from!.text, textContext.entry(from!.id))).not.toThrow();
    expect(() => open(from!.text, textContext.entry(to!.id))).toThrow();

    await t.sequelize.query('UPDATE session_entries SET text = :text WHERE id = :id', { replacements: { text: from!.text, id: to!.id } });
    try {
      const res = await request(t.app).get(`/api/sessions/${written[0]!.sessionId}/entries`).set('Authorization', counselor).expect(500);
      const body = JSON.stringify(res.body);
      for (const text of written[0]!.texts) expect(body).not.toContain(text);
      expect(body).not.toContain(from!.text.slice(-20));
    } finally {
      await t.sequelize.query('UPDATE session_entries SET text = :text WHERE id = :id', { replacements: { text: to!.text, id: to!.id } });
    }
    await expectReadable(t.app, client, counselor, written);
  });

  it('binds each feedback comment to its session: a comment copied to another session is refused with a 500', async () => {
    const clientUser = await createUser(t);
    const otherClient = await bearer(t.app, clientUser);
    const otherSession = (await request(t.app).post('/api/sessions').set('Authorization', otherClient).send({}).expect(201)).body.id as string;
    await request(t.app).post(`/api/sessions/${otherSession}/end`).set('Authorization', otherClient).expect(200);
    await request(t.app).post(`/api/sessions/${otherSession}/feedback`).set('Authorization', otherClient).send({ rating: 2, comment: 'placeholder' }).expect(201);
    const [source] = await t.sequelize.query<{ comment: string }>('SELECT comment FROM session_feedback WHERE session_id = :id', {
      replacements: { id: written[1]!.sessionId },
      type: QueryTypes.SELECT,
    });
    await t.sequelize.query('UPDATE session_feedback SET comment = :comment WHERE session_id = :id', { replacements: { comment: source!.comment, id: otherSession } });

    const res = await request(t.app).get(`/api/sessions/${otherSession}/report`).set('Authorization', otherClient).expect(500);
    expect(JSON.stringify(res.body)).not.toContain(written[1]!.feedback!);
    // The original stays readable where it belongs.
    const report = await request(t.app).get(`/api/sessions/${written[1]!.sessionId}/report`).set('Authorization', client).expect(200);
    expect(report.body.feedback.comment).toBe(written[1]!.feedback);
  });

  it('logs and error reports never contain the text, even when a read fails', async () => {
    const lines: string[] = [];
    const capture = (level: string) => (message: string, fields: Record<string, unknown> = {}) => {
      lines.push(`${level} ${message} ${inspect(fields, { depth: 6, breakLength: Infinity })}`);
    };
    const logger: Logger = { debug: capture('debug'), info: capture('info'), warn: capture('warn'), error: capture('error') };
    const config = loadConfig({ NODE_ENV: 'test', ...LENIENT_LIMITS, ...databaseEnv(t), AUTH_SECRET: t.config.secrets.authSecret, DATA_ENCRYPTION_KEY: K1, LOG_LEVEL: 'debug' });
    const logged = createApp({ config, sequelize: t.sequelize, logger });
    const counselorUser = await createUser(t, { role: 'counselor' });
    const clientUser = await createUser(t);
    await inCareOf(t, counselorUser.id, clientUser.id);
    const clientAuth = await bearer(logged.app, clientUser);
    const counselorAuth = await bearer(logged.app, counselorUser);
    const mine = await writeSessions(logged.app, clientAuth, counselorAuth, counselorUser.id, 'logged');
    await expectReadable(logged.app, clientAuth, counselorAuth, mine);
    await request(logged.app).post(`/api/sessions/${mine[0]!.sessionId}/entries`).set('Authorization', clientAuth).send({ kind: 'note', text: '' }).expect(400);

    const [from, to] = await t.sequelize.query<{ id: string; text: string }>('SELECT id, text FROM session_entries WHERE session_id = :sessionId AND text IS NOT NULL ORDER BY id', {
      replacements: { sessionId: mine[0]!.sessionId },
      type: QueryTypes.SELECT,
    });
    await t.sequelize.query('UPDATE session_entries SET text = :text WHERE id = :id', { replacements: { text: from!.text, id: to!.id } });
    try {
      await request(logged.app).get(`/api/sessions/${mine[0]!.sessionId}/entries`).set('Authorization', counselorAuth).expect(500);
    } finally {
      await t.sequelize.query('UPDATE session_entries SET text = :text WHERE id = :id', { replacements: { text: to!.text, id: to!.id } });
    }

    expect(lines.some((line) => line.includes('request failed'))).toBe(true);
    const everything = `${lines.join('\n')}\n${JSON.stringify(logged.infra.errorHandler.stats.snapshot())}`;
    const stored = await entryRows(t);
    for (const session of mine) for (const text of [...session.texts, ...(session.feedback ? [session.feedback] : [])]) expect(everything).not.toContain(text);
    for (const row of stored) expect(everything).not.toContain(row.text.split('.').at(-1)!);
  });
});

/** The key store's rows (id and master key), whichever store the test app has. */
async function keyRows(t: TestApp) {
  return t.infra.keyStore.keys.findAll({ attributes: ['id', 'ownerId', 'masterKeyId'], order: [['id', 'ASC']], raw: true });
}

describe('master key rotation midway through a data set (two instances over one database and key store)', () => {
  let t: TestApp;
  let counselorUser: TestUser;
  let clients: TestUser[];
  let appA: Express;
  let appB: ReturnType<typeof appOver>;
  const written = new Map<string, WrittenSession[]>();
  let content: string[];

  beforeAll(async () => {
    t = await createTestApp({ lenientLimits: true, env: { DATA_ENCRYPTION_KEY: K1 } });
    appA = t.app;
    appB = appOver(t, { DATA_ENCRYPTION_KEY: K2, DATA_ENCRYPTION_KEYS_PREVIOUS: K1 });
    counselorUser = await createUser(t, { role: 'counselor' });
    clients = [await createUser(t), await createUser(t), await createUser(t)];
    for (const client of clients) await inCareOf(t, counselorUser.id, client.id);
  });
  afterAll(() => t.close());

  it('A (master 1) makes each client’s data key; B (master 2, master 1 as previous) writes under the same keys and reads all of it', async () => {
    const counselorA = await bearer(appA, counselorUser);
    const counselorB = await bearer(appB.app, counselorUser);
    for (const client of clients) {
      written.set(client.id, [
        ...(await writeSessions(appA, await bearer(appA, client), counselorA, counselorUser.id, 'A')),
        ...(await writeSessions(appB.app, await bearer(appB.app, client), counselorB, counselorUser.id, 'B')),
      ]);
    }
    const keys = await keyRows(t);
    expect(keys).toHaveLength(3);
    for (const key of keys) expect(key.masterKeyId).toBe(masterId(K1));
    content = await storedValues(t);
    expect(new Set(content.map((value) => value.split(':')[1]))).toEqual(new Set(keys.map((key) => key.id)));
    for (const client of clients) await expectReadable(appB.app, await bearer(appB.app, client), counselorB, written.get(client.id)!);
  });

  it('an interrupted re-wrap (one key) leaves everything readable through B and the content untouched', async () => {
    const progress = await appB.infra.content.keys.rewrap({ batchSize: 1, maxBatches: 1 });
    expect(progress).toEqual({ examined: 1, rewrapped: 1, batches: 1 });
    expect((await keyRows(t)).map((key) => key.masterKeyId)).toEqual([masterId(K2), masterId(K1), masterId(K1)]);
    expect(await appB.infra.content.keys.staleCount()).toBe(2);
    expect(await storedValues(t)).toEqual(content);
    const counselor = await bearer(appB.app, counselorUser);
    for (const client of clients) await expectReadable(appB.app, await bearer(appB.app, client), counselor, written.get(client.id)!);
  });

  it('running it again re-wraps the rest, never re-encrypts content, and a third run changes nothing', async () => {
    const batches: number[] = [];
    const progress = await appB.infra.content.keys.rewrap({ batchSize: 1, onBatch: (p) => batches.push(p.batches) });
    expect(progress).toEqual({ examined: 3, rewrapped: 2, batches: 3 });
    expect(batches).toEqual([1, 2, 3]);
    for (const key of await keyRows(t)) expect(key.masterKeyId).toBe(masterId(K2));
    expect(await storedValues(t)).toEqual(content);
    expect(await appB.infra.content.keys.rewrap()).toEqual({ examined: 3, rewrapped: 0, batches: 1 });
  });

  it('after the re-wrap an instance with only master 2 reads everything (its cache starts empty)', async () => {
    const onlyK2 = appOver(t, { DATA_ENCRYPTION_KEY: K2 });
    const counselor = await bearer(onlyK2.app, counselorUser);
    for (const client of clients) await expectReadable(onlyK2.app, await bearer(onlyK2.app, client), counselor, written.get(client.id)!);
  });

  it('an instance with only master 1 cannot unwrap the keys any more: an error, never plaintext', async () => {
    const onlyK1 = appOver(t, { DATA_ENCRYPTION_KEY: K1 });
    const counselor = await bearer(onlyK1.app, counselorUser);
    for (const client of clients) await expectUnreadable(t, onlyK1.app, counselor, written.get(client.id)!);
    const client = await bearer(onlyK1.app, clients[0]!);
    const withFeedback = written.get(clients[0]!.id)!.find((session) => session.feedback !== null)!;
    const report = await request(onlyK1.app).get(`/api/sessions/${withFeedback.sessionId}/report`).set('Authorization', client).expect(500);
    expect(JSON.stringify(report.body)).not.toContain(withFeedback.feedback!);
  });
});

describe('npm run keys:rotate-data (as a process)', () => {
  let t: TestApp;
  let written: WrittenSession[];
  let clientUser: TestUser;
  let counselorUser: TestUser;
  const baseEnv = () => ({ ...databaseEnv(t), NODE_ENV: 'development', LOG_LEVEL: 'silent', AUTH_SECRET: t.config.secrets.authSecret });

  beforeAll(async () => {
    t = await createTestApp({ lenientLimits: true, env: { DATA_ENCRYPTION_KEY: K1 } });
    clientUser = await createUser(t);
    counselorUser = await createUser(t, { role: 'counselor' });
    await inCareOf(t, counselorUser.id, clientUser.id);
    written = await writeSessions(t.app, await bearer(t.app, clientUser), await bearer(t.app, counselorUser), counselorUser.id, 'cli');
  });
  afterAll(() => t.close());

  it('refuses to run without the previous key, exits non-zero and changes nothing', async () => {
    const before = await storedValues(t);
    const keysBefore = await keyRows(t);
    const result = await runCli('src/cli/keys-rotate-data.ts', { env: { ...baseEnv(), DATA_ENCRYPTION_KEY: K2 } });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/DATA_ENCRYPTION_KEYS_PREVIOUS missing/);
    expect(result.stdout).not.toContain('done:');
    expect(await storedValues(t)).toEqual(before);
    expect(await keyRows(t)).toEqual(keysBefore);
  });

  it('re-wraps the data key under the new master, leaves the content as it was, prints done:, and is a no-op when run again', async () => {
    const before = await storedValues(t);
    const result = await runCli('src/cli/keys-rotate-data.ts', { env: { ...baseEnv(), DATA_ENCRYPTION_KEY: K2, DATA_ENCRYPTION_KEYS_PREVIOUS: K1 } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`re-wrapped under master key ${masterId(K2)}`);
    expect(result.stdout).toContain('done: 1 data keys re-wrapped, 0 older encrypted values examined, 0 moved to per-person keys');
    expect(await storedValues(t)).toEqual(before);
    for (const key of await keyRows(t)) expect(key.masterKeyId).toBe(masterId(K2));
    const printed = `${result.stdout}${result.stderr}`;
    for (const session of written) for (const text of session.texts) expect(printed).not.toContain(text);

    const again = await runCli('src/cli/keys-rotate-data.ts', { env: { ...baseEnv(), DATA_ENCRYPTION_KEY: K2, DATA_ENCRYPTION_KEYS_PREVIOUS: K1 } });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('done: 0 data keys re-wrapped');

    const onlyK2 = appOver(t, { DATA_ENCRYPTION_KEY: K2 });
    await expectReadable(onlyK2.app, await bearer(onlyK2.app, clientUser), await bearer(onlyK2.app, counselorUser), written);
  });
});
