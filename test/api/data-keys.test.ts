import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { QueryTypes } from 'sequelize';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { ContentCipher } from '../../src/crypto/content-cipher.js';
import { DataKeys, KEY_CACHE_MAX, KEY_CACHE_TTL_MS } from '../../src/crypto/data-keys.js';
import { KEY_STORE_SQLITE_FILE } from '../../src/db/key-store.js';
import { textContext } from '../../src/modules/sessions/session-views.js';
import { LENIENT_LIMITS, createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, counsel, expectErased, expectReadable, keyRow, secretText, storedContent, type Counseled } from '../helpers/data-keys.js';
import { inCareOf } from '../helpers/practice.js';
import { createUser, type TestUser } from '../helpers/users.js';

const MASTER = 'data-keys-test-master-key-0123456789abcdef';

describe('per-person data keys', () => {
  let t: TestApp;
  let counselorUser: TestUser;
  let counselor: string;
  let alice: TestUser;
  let bob: TestUser;
  let aliceContent: Counseled;
  let bobContent: Counseled;

  beforeAll(async () => {
    t = await createTestApp({ lenientLimits: true, env: { DATA_ENCRYPTION_KEY: MASTER } });
    counselorUser = await createUser(t, { role: 'counselor' });
    alice = await createUser(t);
    bob = await createUser(t);
    await inCareOf(t, counselorUser.id, alice.id);
    await inCareOf(t, counselorUser.id, bob.id);
    counselor = await bearer(t.app, counselorUser);
    aliceContent = await counsel(t.app, await bearer(t.app, alice), counselor, counselorUser.id, 'alice');
    bobContent = await counsel(t.app, await bearer(t.app, bob), counselor, counselorUser.id, 'bob');
  });
  afterAll(() => t.close());

  it('gives each client one data key, and seals all their sessions’ content under it, the counselor’s notes included', async () => {
    const aliceKey = await keyRow(t, { ownerId: alice.id });
    const bobKey = await keyRow(t, { ownerId: bob.id });
    expect(aliceKey && bobKey).toBeTruthy();
    expect(aliceKey!.id).not.toBe(bobKey!.id);
    expect(await keyRow(t, { ownerId: counselorUser.id })).toBeNull(); // the counselor writes under the client's key
    const aliceStored = await storedContent(t.sequelize, [aliceContent.openId, aliceContent.endedId]);
    expect(aliceStored).toHaveLength(5);
    for (const value of aliceStored) expect(ContentCipher.keyIdOf(value)).toBe(aliceKey!.id);
    for (const value of await storedContent(t.sequelize, [bobContent.openId, bobContent.endedId])) expect(ContentCipher.keyIdOf(value)).toBe(bobKey!.id);
    await expectReadable(t.app, counselor, aliceContent);
    await expectReadable(t.app, counselor, bobContent);
  });

  it('stores the data key only wrapped under the master key, bound to its row: copied to another key id it does not unwrap', async () => {
    const aliceKey = (await keyRow(t, { ownerId: alice.id }))!;
    expect(aliceKey.masterKeyId).toBe(t.infra.content.keys.currentMasterKeyId);
    expect(aliceKey.wrapped).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(Buffer.from(aliceKey.wrapped!.split('.')[2]!, 'base64url')).toHaveLength(44); // a base64 256-bit key, sealed

    const fresh = new DataKeys(t.infra.keyStore, MASTER);
    await t.infra.keyStore.keys.create({ id: 'f'.repeat(32), ownerId: null, wrapped: aliceKey.wrapped, masterKeyId: aliceKey.masterKeyId, createdAt: new Date(), destroyedAt: null });
    try {
      await expect(fresh.resolve(['f'.repeat(32)])).rejects.toThrow();
      expect((await fresh.resolve([aliceKey.id])).get(aliceKey.id)).toBeTruthy();
    } finally {
      await t.infra.keyStore.keys.destroy({ where: { id: 'f'.repeat(32) } });
    }
  });

  it('keeps the keys out of the data database (a second SQLite file), or says where they are (PostgreSQL without KEY_STORE_URL)', async () => {
    const ready = await request(t.app).get('/health/ready').expect(200);
    if (t.dialect === 'sqlite') {
      expect(ready.body.checks.keyStore).toMatchObject({ status: 'up', location: 'separate-file' });
      expect(ready.body.checks.keyStore.warning).toBeUndefined();
      expect(existsSync(join(t.config.dataDir, KEY_STORE_SQLITE_FILE))).toBe(true);
      const tables = await t.sequelize.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'", { type: QueryTypes.SELECT });
      expect(tables.map((table) => table.name)).not.toContain('data_keys');
      expect(tables.map((table) => table.name)).toContain('session_entries');
    } else {
      expect(ready.body.checks.keyStore).toMatchObject({ status: 'up', location: 'same-database' });
      expect(ready.body.checks.keyStore.warning).toMatch(/backups carry them/);
    }
  });

  it('says at start when the keys share the data database’s backups (PostgreSQL without KEY_STORE_URL), and is quiet otherwise', async () => {
    const warnings: string[] = [];
    const quiet = () => undefined;
    const logger = { debug: quiet, info: quiet, error: quiet, warn: (message: string) => warnings.push(message) };
    const config = loadConfig({ NODE_ENV: 'test', ...(t.config.database.url ? { DATABASE_URL: t.config.database.url } : { DATA_DIR: t.config.dataDir }), AUTH_SECRET: t.config.secrets.authSecret, DATA_ENCRYPTION_KEY: MASTER });
    const other = createApp({ config, sequelize: t.sequelize, logger });
    const said = warnings.filter((line) => line.includes('KEY_STORE_URL is not set'));
    expect(said).toHaveLength(t.dialect === 'postgres' ? 1 : 0);
    if (t.dialect === 'postgres') expect(said[0]).toMatch(/backups carry them and an erasure does not reach those backups/);
    await other.infra.keyStore.close();
  });

  it('makes one key when a client’s first entries arrive at once', async () => {
    const carol = await createUser(t);
    await inCareOf(t, counselorUser.id, carol.id);
    const auth = await bearer(t.app, carol);
    const sessionId = (await request(t.app).post('/api/sessions').set('Authorization', auth).send({ counselorId: counselorUser.id }).expect(201)).body.id as string;
    const texts = Array.from({ length: 5 }, (_, index) => secretText(`carol ${index}`));
    await Promise.all(texts.map((text) => request(t.app).post(`/api/sessions/${sessionId}/entries`).set('Authorization', auth).send({ kind: 'note', text }).expect(201)));
    expect(await t.infra.keyStore.keys.count({ where: { ownerId: carol.id } })).toBe(1);
    const page = await request(t.app).get(`/api/sessions/${sessionId}/entries`).set('Authorization', auth).expect(200);
    expect((page.body.items as { text: string }[]).map((item) => item.text).sort()).toEqual([...texts].sort());
  });

  it('unwraps each key once for a page of entries, and not again while it is cached', async () => {
    // A second instance over the same data and key store: its cache starts empty.
    const config = loadConfig({ NODE_ENV: 'test', ...LENIENT_LIMITS, ...(t.config.database.url ? { DATABASE_URL: t.config.database.url } : { DATA_DIR: t.config.dataDir }), AUTH_SECRET: t.config.secrets.authSecret, DATA_ENCRYPTION_KEY: MASTER });
    const other = createApp({ config, sequelize: t.sequelize });
    const lookups = vi.spyOn(other.infra.keyStore.keys, 'findAll');
    const auth = await bearer(other.app, counselorUser);
    await request(other.app).get(`/api/sessions/${aliceContent.openId}/entries`).set('Authorization', auth).expect(200);
    expect(lookups).toHaveBeenCalledTimes(1);
    await request(other.app).get(`/api/sessions/${aliceContent.openId}/entries`).set('Authorization', auth).expect(200);
    await request(other.app).get(`/api/sessions/${aliceContent.endedId}/report`).set('Authorization', auth).expect(200);
    expect(lookups).toHaveBeenCalledTimes(1);
    lookups.mockRestore();
    await other.infra.keyStore.close();
  });

  it('bounds the unwrap cache: a key is read again after its time, and the oldest goes beyond the bound', async () => {
    let now = 1_000_000;
    const keys = new DataKeys(t.infra.keyStore, MASTER, [], () => now);
    const aliceKey = (await keyRow(t, { ownerId: alice.id }))!;
    const lookups = vi.spyOn(t.infra.keyStore.keys, 'findAll');
    await keys.resolve([aliceKey.id]);
    await keys.resolve([aliceKey.id]);
    expect(lookups).toHaveBeenCalledTimes(1);
    now += KEY_CACHE_TTL_MS;
    await keys.resolve([aliceKey.id]);
    expect(lookups).toHaveBeenCalledTimes(2);
    lookups.mockRestore();
    const cache = (keys as unknown as { cache: Map<string, unknown> }).cache;
    for (let index = 0; index < KEY_CACHE_MAX + 5; index += 1) (keys as unknown as { remember(key: object, owner: null): void }).remember({ id: `k${index}`, key: Buffer.alloc(32) }, null);
    expect(cache.size).toBe(KEY_CACHE_MAX);
    expect(cache.has('k0')).toBe(false);
    expect(cache.has(`k${KEY_CACHE_MAX + 4}`)).toBe(true);
  });

  it('a key the key store never held (the wrong KEY_STORE_URL) is a 500 that names no content, not “erased”', async () => {
    const [row] = await t.sequelize.query<{ id: string; text: string }>('SELECT id, text FROM session_entries WHERE session_id = :id AND text IS NOT NULL ORDER BY id LIMIT 1', {
      replacements: { id: bobContent.openId },
      type: QueryTypes.SELECT,
    });
    const sealed = row!.text.split(':')[2]!;
    await t.sequelize.query('UPDATE session_entries SET text = :text WHERE id = :id', { replacements: { text: `enc2:${'0'.repeat(32)}:${sealed}`, id: row!.id } });
    try {
      const res = await request(t.app).get(`/api/sessions/${bobContent.openId}/entries`).set('Authorization', counselor).expect(500);
      expect(res.headers['content-type']).toContain('application/problem+json');
      for (const text of bobContent.texts) expect(JSON.stringify(res.body)).not.toContain(text);
    } finally {
      await t.sequelize.query('UPDATE session_entries SET text = :text WHERE id = :id', { replacements: { text: row!.text, id: row!.id } });
    }
    await expectReadable(t.app, counselor, bobContent);
  });

  it('a destroyed key reads as erased everywhere (entries, report, export), with 200s, while everyone else’s content still reads', async () => {
    const dana = await createUser(t);
    await inCareOf(t, counselorUser.id, dana.id);
    const danaAuth = await bearer(t.app, dana);
    const danaContent = await counsel(t.app, danaAuth, counselor, counselorUser.id, 'dana');
    // The key goes, the rows stay: as after a deletion whose row removal failed, or in a restored backup.
    expect(await t.infra.content.keys.destroy(dana.id)).toBe(1);
    await expectErased(t.app, counselor, danaContent);
    const exported = await request(t.app).get('/api/users/me/export').set('Authorization', danaAuth).expect(200);
    const sessions = exported.body.counselingSessions as { entries: { kind: string; text: string | null; erased?: boolean }[]; feedback: { comment: string | null; erased?: boolean } | null }[];
    const texts = sessions.flatMap((session) => session.entries.filter((entry) => entry.kind !== 'emotion'));
    expect(texts.length).toBeGreaterThan(0);
    for (const entry of texts) expect(entry).toMatchObject({ text: null, erased: true });
    expect(sessions.find((session) => session.feedback)?.feedback).toMatchObject({ comment: null, erased: true });
    await expectReadable(t.app, counselor, aliceContent);
    await expectReadable(t.app, counselor, bobContent);

    // New content after that is under a new key, and reads; the old stays erased.
    const later = secretText('dana later');
    await request(t.app).post(`/api/sessions/${danaContent.openId}/entries`).set('Authorization', danaAuth).send({ kind: 'note', text: later }).expect(201);
    const page = await request(t.app).get(`/api/sessions/${danaContent.openId}/entries`).set('Authorization', danaAuth).expect(200);
    const notes = (page.body.items as { kind: string; text: string | null; erased?: boolean }[]).filter((item) => item.kind !== 'emotion');
    expect(notes.filter((item) => item.erased)).toHaveLength(2); // the client's note and transcript; the counselor's note is hidden from her
    expect(notes.filter((item) => item.text === later)).toHaveLength(1);
  });

  it('an entry text copied under another key id cannot be opened with that key', async () => {
    const aliceKey = (await keyRow(t, { ownerId: alice.id }))!;
    const bobKey = (await keyRow(t, { ownerId: bob.id }))!;
    const [row] = await t.sequelize.query<{ id: string; text: string }>('SELECT id, text FROM session_entries WHERE session_id = :id AND text IS NOT NULL LIMIT 1', {
      replacements: { id: bobContent.openId },
      type: QueryTypes.SELECT,
    });
    const forged = row!.text.replace(bobKey.id, aliceKey.id);
    const open = await t.infra.content.opener([forged]);
    expect(() => open(forged, textContext.entry(row!.id))).toThrow();
  });
});
