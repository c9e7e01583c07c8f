import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentCipher } from '../../src/crypto/content-cipher.js';
import { DataCipher } from '../../src/crypto/data-cipher.js';
import { DataKeys } from '../../src/crypto/data-keys.js';
import type { StoredFileModel } from '../../src/models/stored-file.model.js';
import { decryptStream } from '../../src/modules/files/file-crypto.js';
import { fileContext } from '../../src/modules/files/file-views.js';
import { migrateAttachmentsToPersonKeys } from '../../src/modules/files/index.js';
import { clientsOf } from '../../src/modules/sessions/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, keyRow, runRotateData } from '../helpers/data-keys.js';
import { attach, binary } from '../helpers/files.js';
import { inCareOf } from '../helpers/practice.js';
import { createUser, type TestUser } from '../helpers/users.js';

const MASTER = 'attachment-keys-test-master-0123456789abcdef';
const NEW_MASTER = 'attachment-keys-test-new-master-0123456789ab';

interface Uploaded {
  id: string;
  sessionId: string;
  clientId: string;
  name: string;
  bytes: Buffer;
}

/** A text file nobody could guess, so finding it anywhere means it leaked. */
const secretFile = (label: string) => Buffer.from(`${label}: ${randomBytes(12).toString('hex')}\n`.repeat(20));

function download(t: TestApp, auth: string, fileId: string) {
  return request(t.app).get(`/api/files/${fileId}/stream`).set('Authorization', auth).buffer(true).parse(binary);
}

async function expectDownloads(t: TestApp, auth: string, file: Uploaded) {
  const got = await download(t, auth, file.id).expect(200);
  expect(Buffer.compare(got.body as Buffer, file.bytes)).toBe(0);
  expect(decodeURIComponent(/filename\*=UTF-8''(.*)$/.exec(got.headers['content-disposition'] as string)![1]!)).toBe(file.name);
}

async function upload(t: TestApp, auth: string, sessionId: string, clientId: string, label: string): Promise<Uploaded> {
  const name = `${label} ${randomBytes(6).toString('hex')}.txt`;
  const bytes = secretFile(label);
  const res = await attach(t, auth, sessionId, { data: bytes, filename: name }).expect(201);
  return { id: res.body.id as string, sessionId, clientId, name, bytes };
}

const row = async (t: TestApp, id: string) => (await t.context.models.StoredFile.findByPk(id, { raw: true })) as StoredFileModel;

/** A client in the counselor's care with an open session. */
async function client(t: TestApp, counselorUser: TestUser) {
  const user = await createUser(t);
  await inCareOf(t, counselorUser.id, user.id);
  const auth = await bearer(t.app, user);
  const sessionId = (await request(t.app).post('/api/sessions').set('Authorization', auth).send({ counselorId: counselorUser.id }).expect(201)).body.id as string;
  return { user, auth, sessionId };
}

describe('attachments under the data key of the session’s client', () => {
  let t: TestApp;
  let counselorUser: TestUser;
  let counselor: string;
  let leaving: Awaited<ReturnType<typeof client>>;
  let staying: Awaited<ReturnType<typeof client>>;
  let leavingFiles: Uploaded[];
  let stayingFile: Uploaded;

  beforeAll(async () => {
    t = await createTestApp({ lenientLimits: true, env: { DATA_ENCRYPTION_KEY: MASTER } });
    counselorUser = await createUser(t, { role: 'counselor' });
    counselor = await bearer(t.app, counselorUser);
    leaving = await client(t, counselorUser);
    staying = await client(t, counselorUser);
    leavingFiles = [
      await upload(t, leaving.auth, leaving.sessionId, leaving.user.id, 'leaving client'),
      await upload(t, counselor, leaving.sessionId, leaving.user.id, 'counselor for leaving'),
    ];
    stayingFile = await upload(t, staying.auth, staying.sessionId, staying.user.id, 'staying client');
  });
  afterAll(() => t.close());

  it('seals a new attachment’s key and name as enc2 under the client’s key id, whoever uploads it, and the API opens them', async () => {
    const leavingKey = (await keyRow(t, { ownerId: leaving.user.id }))!;
    expect(await keyRow(t, { ownerId: counselorUser.id })).toBeNull(); // the counselor uploads under the client's key
    for (const file of leavingFiles) {
      const stored = await row(t, file.id);
      for (const value of [stored.wrappedKey!, stored.filename!]) {
        expect(value).toMatch(/^enc2:/);
        expect(ContentCipher.keyIdOf(value)).toBe(leavingKey.id);
      }
      expect(stored.filename).not.toContain(file.name.split(' ')[0]);
      await expectDownloads(t, counselor, file);
    }
    expect(ContentCipher.keyIdOf((await row(t, stayingFile.id)).wrappedKey!)).toBe((await keyRow(t, { ownerId: staying.user.id }))!.id);
    const list = await request(t.app).get(`/api/sessions/${leaving.sessionId}/attachments`).set('Authorization', leaving.auth).expect(200);
    expect(list.body.items.map((item: { filename: string }) => item.filename).sort()).toEqual(leavingFiles.map((file) => file.name).sort());
    expect(list.body.items.some((item: { erased?: boolean }) => 'erased' in item)).toBe(false);
  });

  it('binds the sealed key to its row: another attachment’s key copied over it is a 500 that shows nothing, never the other file', async () => {
    const [first, second] = leavingFiles;
    const original = await row(t, first!.id);
    await t.context.models.StoredFile.update({ wrappedKey: (await row(t, second!.id)).wrappedKey }, { where: { id: first!.id } });
    try {
      const res = await download(t, leaving.auth, first!.id).expect(500);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    } finally {
      await t.context.models.StoredFile.update({ wrappedKey: original.wrappedKey }, { where: { id: first!.id } });
    }
    await expectDownloads(t, leaving.auth, first!);
  });

  it('after the client deletes their account and a backup of the rows and the bucket is put back, their attachments read as erased and download as 410, never 500', async () => {
    const { models } = t.context;
    const files = t.modules.files.storage;
    // The backup: the person's rows and the objects of their attachments, as a dump and a bucket copy hold them.
    const backup = {
      user: await models.User.findByPk(leaving.user.id, { raw: true }),
      sessions: await models.CounselingSession.findAll({ where: { userId: leaving.user.id }, raw: true }),
      files: await models.StoredFile.findAll({ where: { sessionId: leaving.sessionId }, raw: true }),
      objects: new Map<string, Buffer>(),
    };
    for (const file of backup.files) {
      const chunks: Buffer[] = [];
      for await (const chunk of await files.get(file.storageKey)) chunks.push(chunk as Buffer);
      backup.objects.set(file.storageKey, Buffer.concat(chunks));
    }
    const keyId = (await keyRow(t, { ownerId: leaving.user.id }))!.id;

    await request(t.app).delete('/api/users/me').set('Authorization', leaving.auth).send({ password: leaving.user.password }).expect(204);
    expect(await models.StoredFile.count({ where: { sessionId: leaving.sessionId } })).toBe(0);
    expect(await keyRow(t, { id: keyId })).toMatchObject({ ownerId: null, wrapped: null });
    for (const key of backup.objects.keys()) await expect.poll(() => files.head(key)).toBeNull(); // the account's objects went after commit

    // The restore.
    await models.User.bulkCreate([backup.user!]);
    await models.CounselingSession.bulkCreate(backup.sessions);
    await models.StoredFile.bulkCreate(backup.files);
    for (const [key, bytes] of backup.objects) await files.put(key, Readable.from([bytes]), { contentType: 'application/octet-stream' });

    const restored = await bearer(t.app, leaving.user);
    const list = await request(t.app).get(`/api/sessions/${leaving.sessionId}/attachments`).set('Authorization', restored).expect(200);
    expect(list.body.items).toHaveLength(2);
    for (const item of list.body.items) expect(item).toMatchObject({ filename: null, erased: true, size: expect.any(Number) });
    for (const file of leavingFiles) {
      const meta = await request(t.app).get(`/api/files/${file.id}`).set('Authorization', restored).expect(200);
      expect(meta.body).toMatchObject({ id: file.id, filename: null, erased: true, url: null });
      const res = await download(t, restored, file.id).expect(410);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse((res.body as Buffer).toString())).toMatchObject({ status: 410, code: 'ATTACHMENT_ERASED' });
    }
    const exported = await request(t.app).get('/api/users/me/export').set('Authorization', restored).expect(200);
    const body = JSON.stringify(exported.body);
    for (const file of leavingFiles) expect(body).not.toContain(file.name);
    expect((exported.body.files as { id: string; erased?: boolean }[]).filter((file) => file.erased)).toHaveLength(2);
    // The export archive has no bytes to put in for them (its export.json lists them as erased).
    for (const file of leavingFiles) expect(await t.modules.files.data.openForExport(file.id)).toBeUndefined();
    const kept = await t.modules.files.data.openForExport(stayingFile.id);
    expect(kept?.name).toBe(stayingFile.name);
    kept?.body.resume();

    // Everyone else's attachment still opens, byte for byte; the erased rows can still be deleted.
    await expectDownloads(t, counselor, stayingFile);
    await expectDownloads(t, staying.auth, stayingFile);
    await request(t.app).delete(`/api/files/${leavingFiles[0]!.id}`).set('Authorization', restored).expect(204);
  });

  it('bad input still gets a clear 4xx problem', async () => {
    const bad = await request(t.app).get('/api/files/not-a-file-id/stream').set('Authorization', staying.auth).expect(400);
    expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);
    await request(t.app).get(`/api/files/${leavingFiles[0]!.id}/stream`).set('Authorization', staying.auth).expect(404); // gone, and never theirs
    await request(t.app).get(`/api/files/${stayingFile.id}/stream`).set('Authorization', leaving.auth).expect(401); // the token of an account that was deleted
    const json = await request(t.app).post(`/api/sessions/${staying.sessionId}/attachments`).set('Authorization', staying.auth).send({ file: 'x' }).expect(400);
    expect(json.body.code).toBe('MULTIPART_REQUIRED');
    const unknown = await attach(t, staying.auth, staying.sessionId, { data: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, ...randomBytes(64)]) }).expect(415);
    expect(unknown.body.code).toBe('UNSUPPORTED_FILE_TYPE');
  });

  it('a master-key rotation re-wraps the client’s key and leaves the attachment’s values as they were; it opens under the new master alone', async () => {
    const before = await row(t, stayingFile.id);
    const rotating = new DataKeys(t.infra.keyStore, NEW_MASTER, [MASTER]);
    expect((await rotating.rewrap()).rewrapped).toBeGreaterThanOrEqual(1);
    const moved = await migrateAttachmentsToPersonKeys({ models: t.context.models, content: new ContentCipher(rotating, new DataCipher(NEW_MASTER, [MASTER])), clientsOf: (ids) => clientsOf(t.context.models, ids) });
    expect(moved.reencrypted).toBe(0);
    const after = await row(t, stayingFile.id);
    expect({ wrappedKey: after.wrappedKey, filename: after.filename }).toEqual({ wrappedKey: before.wrappedKey, filename: before.filename });

    const onlyNew = new ContentCipher(new DataKeys(t.infra.keyStore, NEW_MASTER), new DataCipher(NEW_MASTER));
    const open = await onlyNew.opener([after.wrappedKey, after.filename]);
    expect(open(after.filename!, fileContext.name(after.id))).toBe(stayingFile.name);
    const plaintext = decryptStream(Buffer.from(open(after.wrappedKey!, fileContext.key(after.id)) as string, 'base64url'), after.id);
    const chunks: Buffer[] = [];
    const done = pipeline(await t.modules.files.storage.get(after.storageKey), plaintext);
    for await (const chunk of plaintext) chunks.push(chunk as Buffer);
    await done;
    expect(Buffer.compare(Buffer.concat(chunks), stayingFile.bytes)).toBe(0);
  });
});

describe('npm run keys:rotate-data: moving older attachment keys and names to per-person keys', () => {
  let t: TestApp;
  let counselor: string;
  let clients: Awaited<ReturnType<typeof client>>[];
  let uploaded: Uploaded[];
  const stored = async () => (await t.context.models.StoredFile.findAll({ where: { purpose: 'attachment' }, raw: true })).flatMap((file) => [file.wrappedKey!, file.filename!]);

  /** Every attachment as both its client and the counselor read it: names in the list, bytes in the download. */
  async function expectAllRead() {
    for (const file of uploaded) {
      const owner = clients.find((item) => item.user.id === file.clientId)!;
      const list = await request(t.app).get(`/api/sessions/${file.sessionId}/attachments`).set('Authorization', owner.auth).expect(200);
      expect(list.body.items.map((item: { filename: string }) => item.filename)).toContain(file.name);
      await expectDownloads(t, counselor, file);
    }
  }

  beforeAll(async () => {
    t = await createTestApp({ lenientLimits: true, env: { DATA_ENCRYPTION_KEY: MASTER } });
    const counselorUser = await createUser(t, { role: 'counselor' });
    counselor = await bearer(t.app, counselorUser);
    clients = [await client(t, counselorUser), await client(t, counselorUser), await client(t, counselorUser)];
    uploaded = [];
    for (const [index, each] of clients.entries()) {
      uploaded.push(await upload(t, each.auth, each.sessionId, each.user.id, `client ${index}`));
      uploaded.push(await upload(t, counselor, each.sessionId, each.user.id, `counselor for ${index}`));
    }
    // As the single-key versions stored them: key and name under the key derived from DATA_ENCRYPTION_KEY.
    const { models, cipher } = t.context;
    for (const file of uploaded) {
      const current = await row(t, file.id);
      const open = await t.infra.content.opener([current.wrappedKey]);
      const fileKey = open(current.wrappedKey!, fileContext.key(file.id)) as string;
      await models.StoredFile.update({ wrappedKey: cipher.encrypt(fileKey, fileContext.key(file.id)), filename: cipher.encrypt(file.name, fileContext.name(file.id)) }, { where: { id: file.id } });
    }
  });
  afterAll(() => t.close());

  it('starts from 12 single-key values (enc1) that the API reads', async () => {
    const values = await stored();
    expect(values).toHaveLength(12);
    expect(values.every((value) => value.startsWith('enc1:'))).toBe(true);
    await expectAllRead();
  });

  it('an interrupted run (two batches of two) moves four values and leaves every attachment readable', async () => {
    const progress = await migrateAttachmentsToPersonKeys({ models: t.context.models, content: t.infra.content, clientsOf: (ids) => clientsOf(t.context.models, ids) }, { batchSize: 2, maxBatches: 2 });
    expect(progress).toEqual({ examined: 4, reencrypted: 4, batches: 2 });
    expect((await stored()).filter((value) => ContentCipher.isPersonKeyed(value))).toHaveLength(4);
    // Some rows now hold an enc2 key beside an enc1 name: the API reads both.
    await expectAllRead();
  });

  it('running the command again finishes: every key and name under the key of its session’s client, and a third run finds nothing', async () => {
    const result = await runRotateData(t, { DATA_ENCRYPTION_KEY: MASTER });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('attachment keys and names: 8 examined, 8 moved to per-person keys');
    expect(result.stdout).toMatch(/done: 0 data keys re-wrapped, 8 older encrypted values examined, 8 moved to per-person keys/);

    for (const file of uploaded) {
      const key = (await keyRow(t, { ownerId: file.clientId }))!;
      const current = await row(t, file.id);
      expect(ContentCipher.keyIdOf(current.wrappedKey!)).toBe(key.id);
      expect(ContentCipher.keyIdOf(current.filename!)).toBe(key.id);
    }
    const values = await stored();
    expect(values.join('\n')).not.toContain('client');
    expect(await t.infra.keyStore.keys.count()).toBe(3); // one per client, none for the counselor

    const again = await migrateAttachmentsToPersonKeys({ models: t.context.models, content: t.infra.content, clientsOf: (ids) => clientsOf(t.context.models, ids) });
    expect(again).toEqual({ examined: 0, reencrypted: 0, batches: 0 });
    expect(await stored()).toEqual(values);
    await expectAllRead();
  });
});
