import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStorage } from '../../src/modules/files/storage/local.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { attach, binary, GIF, PDF, PNG, sendPresignedPost } from '../helpers/files.js';
import { createPractice, requestAs, type Person, type Practice } from '../helpers/practice.js';
import { factories } from '../helpers/factories.js';
import { TEST_PASSWORD, userWithToken } from '../helpers/users.js';

let t: TestApp;
let practice: Practice;
let person: Person;

function presign(who: Person, body: object = {}) {
  return requestAs(t, who).post('/api/files/presign', { target: 'avatar', contentType: 'image/png', size: PNG.length, ...body });
}

/** Presign, upload and register an avatar of `who`; returns the registered file. */
async function avatar(who: Person, data = PNG) {
  const issued = await presign(who, { size: data.length }).expect(201);
  await sendPresignedPost(t, issued.body.upload, data).expect(204);
  return (await requestAs(t, who).post('/api/files/register', { storageKey: issued.body.storageKey }).expect(200)).body;
}

const objectPath = (key: string) => join(t.config.dataDir, 'files', key);

beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
  practice = await createPractice(t);
  person = await userWithToken(t);
});
afterAll(() => t.close());

describe('POST /api/files/presign', () => {
  it('issues a POST whose policy fixes a server-made key, the type and the size, for 5 minutes', async () => {
    const res = await presign(person).expect(201);
    expect(res.body.storageKey).toMatch(new RegExp(`^avatars/${person.user.id}/[0-9a-f-]{36}\\.png$`));
    expect(res.body.upload).toMatchObject({ method: 'POST', fields: { key: res.body.storageKey, 'Content-Type': 'image/png' } });
    expect(res.body.expiresIn).toBeLessThanOrEqual(600);
  });

  it('refuses SVG and any non-image type with 415, and an image above FILE_IMAGE_MAX_KB with 413', async () => {
    expect((await presign(person, { contentType: 'image/svg+xml' }).expect(415)).body.code).toBe('UNSUPPORTED_FILE_TYPE');
    await presign(person, { contentType: 'text/html' }).expect(415);
    expect((await presign(person, { size: 3 * 1024 * 1024 }).expect(413)).body.code).toBe('FILE_TOO_LARGE');
  });

  it('lets an owner, admin or manager and a platform admin upload a logo; a client, a foreign organization or none is 403', async () => {
    const admin = await userWithToken(t, { role: 'admin' });
    for (const who of [practice.owner, practice.admin, practice.manager, admin]) await presign(who, { target: 'orgLogo', organizationId: practice.id }).expect(201);
    for (const who of [practice.client, practice.counselor, person]) {
      expect((await presign(who, { target: 'orgLogo', organizationId: practice.id }).expect(403)).body.code).toBe('FORBIDDEN_ORG_ROLE');
    }
    await presign(practice.owner, { target: 'orgLogo', organizationId: randomUUID() }).expect(403);
    await presign(practice.owner, { target: 'orgLogo' }).expect(400);
  });
});

describe('the presigned upload and POST /api/files/register', () => {
  it('registers the caller’s own upload once, and the signed URL serves the image inline with safe headers', async () => {
    const file = await avatar(person);
    expect(file).toMatchObject({ purpose: 'avatar', status: 'ready', contentType: 'image/png', size: PNG.length });
    const got = await requestAs(t, practice.client).get(`/api/files/${file.id}`).expect(200);
    const image = await request(t.app).get(new URL(got.body.url).pathname).buffer(true).parse(binary).expect(200);
    expect(Buffer.compare(image.body as Buffer, PNG)).toBe(0);
    expect(image.headers['content-disposition']).toMatch(/^inline; filename="avatar.png"/);
    expect(image.headers['x-content-type-options']).toBe('nosniff');
  });

  it('points the profile’s avatarUrl at the registered avatar, and clears it when the avatar is deleted', async () => {
    const owner = await userWithToken(t);
    const file = await avatar(owner);
    const me = await requestAs(t, owner).get('/api/users/me').expect(200);
    expect(me.body.avatarUrl).toBe(`${t.config.publicUrl}/api/files/${file.id}`);
    await requestAs(t, owner).delete(`/api/files/${file.id}`).expect(204);
    expect((await requestAs(t, owner).get('/api/users/me').expect(200)).body.avatarUrl).toBeNull();
  });

  it('points the organization’s logoUrl at a logo its manager registered', async () => {
    const issued = await presign(practice.manager, { target: 'orgLogo', organizationId: practice.id }).expect(201);
    expect(issued.body.storageKey).toMatch(new RegExp(`^logos/${practice.id}/`));
    await sendPresignedPost(t, issued.body.upload, PNG).expect(204);
    const file = await requestAs(t, practice.manager).post('/api/files/register', { storageKey: issued.body.storageKey }).expect(200);
    const organization = await requestAs(t, practice.client).get(`/api/organizations/${practice.id}`).expect(200);
    expect(organization.body.logoUrl).toBe(`${t.config.publicUrl}/api/files/${file.body.id}`);
  });

  it('answers every key it did not issue to this caller alike (404): traversal, absolute, foreign prefix, another user’s, reused', async () => {
    const other = await userWithToken(t);
    const issued = await presign(other).expect(201);
    await sendPresignedPost(t, issued.body.upload, PNG).expect(204);
    const id = randomUUID();
    const keys = [
      `../avatars/${person.user.id}/${id}.png`,
      `avatars/${person.user.id}/../${other.user.id}/${id}.png`,
      `/avatars/${person.user.id}/${id}.png`,
      `attachments/${person.user.id}/${id}.png`,
      `public/${id}.png`,
      issued.body.storageKey, // another user's real key
    ];
    for (const storageKey of keys) await requestAs(t, person).post('/api/files/register', { storageKey }).expect(404);
    await requestAs(t, other).post('/api/files/register', { storageKey: issued.body.storageKey }).expect(200);
    await requestAs(t, other).post('/api/files/register', { storageKey: issued.body.storageKey }).expect(404); // not twice
  });

  it('refuses bytes that disagree with the declared type (422), deleting the object and the pending row', async () => {
    const issued = await presign(person, { size: GIF.length }).expect(201);
    await sendPresignedPost(t, issued.body.upload, GIF).expect(204);
    const res = await requestAs(t, person).post('/api/files/register', { storageKey: issued.body.storageKey }).expect(422);
    expect(res.body.code).toBe('CONTENT_TYPE_MISMATCH');
    expect(existsSync(objectPath(issued.body.storageKey))).toBe(false);
    expect(await t.context.models.StoredFile.count({ where: { storageKey: issued.body.storageKey } })).toBe(0);
  });

  it('holds the upload to the policy: a forged policy, another key or type, more bytes than declared', async () => {
    const issued = await presign(person).expect(201);
    await sendPresignedPost(t, issued.body.upload, PNG, { policy: `${issued.body.upload.fields.policy}x` }).expect(403);
    await sendPresignedPost(t, issued.body.upload, PNG, { key: `avatars/${person.user.id}/${randomUUID()}.png` }).expect(403);
    await sendPresignedPost(t, issued.body.upload, PNG, { 'Content-Type': 'text/html' }).expect(403);
    await sendPresignedPost(t, issued.body.upload, Buffer.concat([PNG, PNG])).expect(400);
    await requestAs(t, person).post('/api/files/register', { storageKey: issued.body.storageKey }).expect(409); // nothing stored
  });

  it('replaces the previous avatar: its row and object go', async () => {
    const first = await avatar(person);
    const firstKey = (await t.context.models.StoredFile.findByPk(first.id))!.storageKey;
    await avatar(person);
    await requestAs(t, person).get(`/api/files/${first.id}`).expect(404);
    await expect.poll(() => existsSync(objectPath(firstKey))).toBe(false);
  });
});

describe('storage down', () => {
  it('answers 503 STORAGE_UNAVAILABLE and writes nothing to the database', async () => {
    class Down extends LocalStorage {
      override async put(): Promise<void> {
        throw new Error('connect ECONNREFUSED');
      }
      override async presignPost(): Promise<never> {
        throw new Error('connect ECONNREFUSED');
      }
      override async ping(): Promise<void> {
        throw new Error('connect ECONNREFUSED');
      }
    }
    const down = await createTestApp({ lenientLimits: true, deps: { storage: new Down('/nonexistent', Buffer.alloc(32), 'http://localhost') } });
    try {
      const p = await createPractice(down);
      const session = await factories(down).session({ userId: p.client.user.id, counselorId: p.counselor.user.id, organizationId: p.id });
      const res = await attach(down, p.client.auth, session.id, { data: PDF }).expect(503);
      expect(res.body).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
      expect(JSON.stringify(res.body)).not.toContain('ECONNREFUSED');
      await requestAs(down, p.client).post('/api/files/presign', { target: 'avatar', contentType: 'image/png', size: 10 }).expect(503);
      expect(await down.context.models.StoredFile.count()).toBe(0);
      const ready = await request(down.app).get('/health/ready').expect(200);
      expect(ready.body).toMatchObject({ status: 'degraded', checks: { storage: { status: 'down' } } });
    } finally {
      await down.close();
    }
  });
});

describe('lifecycle', () => {
  it('lists files in the export and deletes the person’s objects with the account', async () => {
    const leaving = await userWithToken(t);
    const file = await avatar(leaving);
    const key = (await t.context.models.StoredFile.findByPk(file.id))!.storageKey;
    const exported = await requestAs(t, leaving).get('/api/users/me/export').expect(200);
    expect(exported.body.files.map((entry: { id: string }) => entry.id)).toEqual([file.id]);

    await request(t.app).delete('/api/users/me').set('Authorization', leaving.auth).send({ password: TEST_PASSWORD }).expect(204);
    expect(await t.context.models.StoredFile.count({ where: { id: file.id } })).toBe(0);
    await expect.poll(() => existsSync(objectPath(key))).toBe(false);
  });

  it('exports an attachment to the session’s client, not to the counselor who gave it', async () => {
    const session = await factories(t).session({ userId: practice.client.user.id, counselorId: practice.counselor.user.id, organizationId: practice.id });
    const given = (await attach(t, practice.counselor.auth, session.id, { data: PDF, filename: 'worksheet.pdf' }).expect(201)).body.id as string;
    const ids = async (who: Person) => ((await requestAs(t, who).get('/api/users/me/export').expect(200)).body.files as { id: string }[]).map((file) => file.id);
    expect(await ids(practice.client)).toContain(given);
    expect(await ids(practice.counselor)).not.toContain(given);
  });

  it('takes a deleted session’s attachments with it: rows at once (the key with them), objects by the orphan sweep', async () => {
    const session = await factories(t).session({ userId: practice.client.user.id, counselorId: practice.counselor.user.id, organizationId: practice.id });
    const uploaded = await attach(t, practice.client.auth, session.id, { data: PDF }).expect(201);
    const key = (await t.context.models.StoredFile.findByPk(uploaded.body.id))!.storageKey;
    await requestAs(t, practice.client).delete(`/api/sessions/${session.id}`).expect(204);
    expect(await t.context.models.StoredFile.count({ where: { id: uploaded.body.id } })).toBe(0);

    const removed = await t.modules.files.retentionJobs['purge-orphaned-files'].run(new Date(Date.now() + 2 * 86_400_000));
    expect(removed.orphanedObjects).toBeGreaterThanOrEqual(1);
    expect(existsSync(objectPath(key))).toBe(false);
  });

  it('sweeps presigned uploads never registered after 24 h', async () => {
    const issued = await presign(person).expect(201);
    await sendPresignedPost(t, issued.body.upload, PNG).expect(204);
    expect(await t.modules.files.retentionJobs['purge-pending-uploads'].run(new Date())).toEqual({ pendingUploads: 0 });
    expect((await t.modules.files.retentionJobs['purge-pending-uploads'].run(new Date(Date.now() + 25 * 3_600_000))).pendingUploads).toBeGreaterThanOrEqual(1);
    expect(existsSync(objectPath(issued.body.storageKey))).toBe(false);
  });
});
