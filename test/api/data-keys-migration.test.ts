import { randomUUID } from 'node:crypto';
import { Op } from 'sequelize';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentCipher } from '../../src/crypto/content-cipher.js';
import { migrateToPersonKeys } from '../../src/modules/sessions/index.js';
import { textContext } from '../../src/modules/sessions/session-views.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, keyRow, runRotateData, secretText, storedContent } from '../helpers/data-keys.js';
import { inCareOf } from '../helpers/practice.js';
import { createUser, type TestUser } from '../helpers/users.js';

const MASTER = 'migration-test-master-key-0123456789abcdefgh';

interface LegacySession {
  clientId: string;
  sessionId: string;
  texts: string[];
  comment: string | null;
  /** Holds a row stored before encryption existed (plaintext), which only the migration makes readable. */
  plaintext: boolean;
}

/**
 * A data set as the single-key versions left it: per client an ended session whose entries
 * and feedback are `enc1:` ciphertext under the key derived from DATA_ENCRYPTION_KEY, and one
 * session with a row from before encryption existed (plaintext).
 */
async function legacyDataSet(t: TestApp, clients: TestUser[], counselorId: string): Promise<LegacySession[]> {
  const { models, cipher } = t.context;
  const sessions: LegacySession[] = [];
  for (const client of clients) {
    const auth = await bearer(t.app, client);
    const sessionId = (await request(t.app).post('/api/sessions').set('Authorization', auth).send({ counselorId }).expect(201)).body.id as string;
    const texts = Array.from({ length: 4 }, (_, index) => secretText(`legacy ${index}`));
    for (const [index, text] of texts.entries()) {
      const id = randomUUID();
      await models.SessionEntry.create({
        id,
        sessionId,
        userId: client.id,
        authorId: index === 1 ? counselorId : client.id,
        authorRole: index === 1 ? 'counselor' : 'client',
        kind: 'note',
        emotion: null,
        valence: null,
        arousal: null,
        text: cipher.encrypt(text, textContext.entry(id)),
        speaker: null,
        at: new Date(),
      });
    }
    await request(t.app).post(`/api/sessions/${sessionId}/end`).set('Authorization', auth).expect(200);
    const comment = secretText('legacy feedback');
    await models.SessionFeedback.create({ sessionId, userId: client.id, rating: 3, comment: cipher.encrypt(comment, textContext.feedback(sessionId)) });
    sessions.push({ clientId: client.id, sessionId, texts, comment, plaintext: false });

    const oldest = (await request(t.app).post('/api/sessions').set('Authorization', auth).send({ counselorId }).expect(201)).body.id as string;
    const plain = secretText('stored before encryption');
    await models.SessionEntry.create({
      id: randomUUID(),
      sessionId: oldest,
      userId: client.id,
      authorId: client.id,
      authorRole: 'client',
      kind: 'transcript',
      emotion: null,
      valence: null,
      arousal: null,
      text: plain,
      speaker: 'client',
      at: new Date(),
    });
    sessions.push({ clientId: client.id, sessionId: oldest, texts: [plain], comment: null, plaintext: true });
  }
  return sessions;
}

async function expectSessionReads(t: TestApp, counselor: string, session: LegacySession) {
  const page = await request(t.app).get(`/api/sessions/${session.sessionId}/entries`).set('Authorization', counselor).expect(200);
  expect((page.body.items as { text: string }[]).map((item) => item.text).sort()).toEqual([...session.texts].sort());
  if (session.comment) {
    const report = await request(t.app).get(`/api/sessions/${session.sessionId}/report`).set('Authorization', counselor).expect(200);
    expect(report.body.feedback.comment).toBe(session.comment);
  }
}

describe('npm run keys:rotate-data: moving single-key ciphertext to per-person keys', () => {
  let t: TestApp;
  let counselorUser: TestUser;
  let counselor: string;
  let clients: TestUser[];
  let sessions: LegacySession[];
  const all = () => sessions.map((session) => session.sessionId);

  beforeAll(async () => {
    t = await createTestApp({ lenientLimits: true, env: { DATA_ENCRYPTION_KEY: MASTER } });
    counselorUser = await createUser(t, { role: 'counselor' });
    clients = [await createUser(t), await createUser(t), await createUser(t)];
    for (const client of clients) await inCareOf(t, counselorUser.id, client.id);
    counselor = await bearer(t.app, counselorUser);
    sessions = await legacyDataSet(t, clients, counselorUser.id);
  });
  afterAll(() => t.close());

  it('starts from 18 single-key values (15 enc1, 3 plaintext) that the API reads, the plaintext rows aside', async () => {
    const stored = await storedContent(t.sequelize, all());
    expect(stored).toHaveLength(18);
    expect(stored.filter((value) => value.startsWith('enc1:'))).toHaveLength(15);
    expect(stored.some((value) => ContentCipher.isPersonKeyed(value))).toBe(false);
    for (const session of sessions.filter((item) => !item.plaintext)) await expectSessionReads(t, counselor, session);
  });

  it('an interrupted run (two batches of four) moves eight values and leaves every value readable', async () => {
    const progress = await migrateToPersonKeys(t.context.models, t.infra.content, { batchSize: 4, maxBatches: 2 });
    expect(progress).toEqual({ examined: 8, reencrypted: 8, batches: 2 });
    const stored = await storedContent(t.sequelize, all());
    expect(stored.filter((value) => ContentCipher.isPersonKeyed(value))).toHaveLength(8);
    // Mixed enc1 and enc2 in the same sessions: the API reads both.
    for (const session of sessions.filter((item) => !item.plaintext)) await expectSessionReads(t, counselor, session);
  });

  it('a row deleted while its batch runs is not brought back', async () => {
    // The next row the migration takes: the lowest id still under the single key.
    const [victim] = await t.context.models.SessionEntry.findAll({ where: { text: { [Op.like]: 'enc1:%' } }, order: [['id', 'ASC']], limit: 1 });
    const owner = sessions.find((session) => session.sessionId === victim!.sessionId)!;
    const content = t.infra.content;
    const victimText = (await content.opener([victim!.text]))(victim!.text!, textContext.entry(victim!.id));
    const sealFor = content.sealFor.bind(content);
    let deleted = false;
    content.sealFor = async (personId, plaintext, rowContext) => {
      if (!deleted && rowContext === textContext.entry(victim!.id)) {
        deleted = true;
        await t.context.models.SessionEntry.destroy({ where: { id: victim!.id } }); // the retention job, meanwhile
      }
      return sealFor(personId, plaintext, rowContext);
    };
    try {
      const progress = await migrateToPersonKeys(t.context.models, content, { batchSize: 4, maxBatches: 1 });
      expect(deleted).toBe(true);
      expect(progress.examined).toBe(4);
      expect(progress.reencrypted).toBe(3); // the deleted row's conditional update matched nothing
      expect(await t.context.models.SessionEntry.count({ where: { id: victim!.id } })).toBe(0);
    } finally {
      content.sealFor = sealFor;
    }
    owner.texts = owner.texts.filter((text) => text !== victimText);
  });

  it('running the command again finishes: every value under the key of its session’s client, no plaintext left, and a third run finds nothing', async () => {
    const result = await runRotateData(t, { DATA_ENCRYPTION_KEY: MASTER });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/done: 0 data keys re-wrapped, \d+ older encrypted values examined, \d+ moved to per-person keys/);
    const stored = await storedContent(t.sequelize, all());
    expect(stored).toHaveLength(17);
    for (const value of stored) expect(ContentCipher.isPersonKeyed(value)).toBe(true);
    const dump = stored.join('\n');
    for (const session of sessions) for (const text of session.texts) expect(dump).not.toContain(text);

    for (const session of sessions) {
      const key = (await keyRow(t, { ownerId: session.clientId }))!;
      for (const value of await storedContent(t.sequelize, [session.sessionId])) expect(ContentCipher.keyIdOf(value)).toBe(key.id);
    }
    expect(await t.infra.keyStore.keys.count()).toBe(3);

    const again = await migrateToPersonKeys(t.context.models, t.infra.content, { batchSize: 4 });
    expect(again).toEqual({ examined: 0, reencrypted: 0, batches: 0 });
    expect(await storedContent(t.sequelize, all())).toEqual(stored);
  });

  it('after the migration the API reads every value, the plaintext rows from before encryption too', async () => {
    for (const session of sessions) await expectSessionReads(t, counselor, session);
  });
});
