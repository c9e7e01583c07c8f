import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { factories } from '../helpers/factories.js';
import { attach, binary, GIF, PDF, PNG } from '../helpers/files.js';
import { createPractice, requestAs, type Person, type Practice } from '../helpers/practice.js';
import { startS3Server } from '../helpers/s3-server.js';
import { userWithToken } from '../helpers/users.js';

let s3: Awaited<ReturnType<typeof startS3Server>>;
let t: TestApp;
let practice: Practice;

/** Sends a presigned POST to the S3 server itself, as a browser would: the fields, then the file. */
async function postToBucket(upload: { url: string; fields: Record<string, string> }, data: Buffer, overrides: Record<string, string> = {}) {
  const form = new FormData();
  for (const [name, value] of Object.entries({ ...upload.fields, ...overrides })) form.append(name, value);
  form.append('file', new Blob([data]), 'upload');
  return fetch(upload.url, { method: 'POST', body: form });
}

function presign(who: Person, body: object = {}) {
  return requestAs(t, who).post('/api/files/presign', { target: 'avatar', contentType: 'image/png', size: PNG.length, ...body });
}

/** Every object file s3rver keeps on disk for the bucket (its content files). */
function rawObjects(): Buffer[] {
  const root = join(s3.directory, s3.bucket);
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('._S3rver_object'))
    .map((entry) => readFileSync(join(entry.parentPath, entry.name)));
}

beforeAll(async () => {
  s3 = await startS3Server();
  t = await createTestApp({ lenientLimits: true, env: s3.env });
  practice = await createPractice(t);
});
afterAll(async () => {
  await t.close();
  await s3.close();
});

describe('the S3 adapter against an S3-protocol server', () => {
  it('reports the bucket in /health/ready, and a wrong secret as down', async () => {
    const ready = await request(t.app).get('/health/ready').expect(200);
    expect(ready.body.checks.storage).toMatchObject({ status: 'up' });

    const wrong = await createTestApp({ env: { ...s3.env, S3_SECRET_ACCESS_KEY: 'not-the-secret' } });
    try {
      const res = await request(wrong.app).get('/health/ready').expect(200);
      expect(res.body).toMatchObject({ status: 'degraded', checks: { storage: { status: 'down' } } });
    } finally {
      await wrong.close();
    }
  });

  it('stores an attachment as ciphertext (the bucket alone reveals nothing) and streams it back decrypted', async () => {
    const session = await factories(t).session({ userId: practice.client.user.id, counselorId: practice.counselor.user.id, organizationId: practice.id });
    const letter = Buffer.from('Nobody else may read that I am afraid of the dark. '.repeat(40));
    const res = await attach(t, practice.client.auth, session.id, { data: letter, filename: 'letter.txt' }).expect(201);
    expect(rawObjects().some((raw) => raw.subarray(0, 4).toString() === 'CFE1')).toBe(true);
    expect(rawObjects().some((raw) => raw.includes(Buffer.from('afraid')))).toBe(false);

    const got = await request(t.app).get(`/api/files/${res.body.id}/stream`).set('Authorization', practice.counselor.auth).buffer(true).parse(binary).expect(200);
    expect(Buffer.compare(got.body as Buffer, letter)).toBe(0);
    expect(got.headers['content-disposition']).toMatch(/^attachment; /);
  });

  it('requests server-side encryption on every write (the server refuses writes without it)', () => {
    const writes = s3.log.filter((entry) => entry.method === 'PUT' || (entry.method === 'POST' && entry.sse !== undefined));
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((entry) => entry.sse === 'AES256' || entry.sse === 'form')).toBe(true);
    expect(s3.log.filter((entry) => entry.outcome === 'MissingSSE')).toEqual([]);
  });

  it('takes an avatar by presigned POST whose policy the server enforces, registers it, and serves it by a signed URL', async () => {
    const person = await userWithToken(t);
    const issued = await presign(person).expect(201);
    expect(issued.body.upload.url).toBe(`${s3.endpoint}/${s3.bucket}`);
    expect(issued.body.upload.fields).toMatchObject({ key: issued.body.storageKey, 'Content-Type': 'image/png', 'x-amz-server-side-encryption': 'AES256' });
    const policy = JSON.parse(Buffer.from(issued.body.upload.fields.Policy, 'base64').toString()) as { expiration: string; conditions: unknown[] };
    expect(Date.parse(policy.expiration) - Date.now()).toBeLessThanOrEqual(600_000);
    expect(policy.conditions).toEqual(expect.arrayContaining([['content-length-range', 1, PNG.length], ['eq', '$Content-Type', 'image/png'], { key: issued.body.storageKey }]));

    expect((await postToBucket(issued.body.upload, Buffer.concat([PNG, PNG]))).status).toBe(403); // above the range
    expect((await postToBucket(issued.body.upload, PNG, { key: `avatars/${person.user.id}/other.png` })).status).toBe(403); // another key
    expect((await postToBucket(issued.body.upload, PNG, { 'Content-Type': 'text/html' })).status).toBe(403);
    expect((await postToBucket(issued.body.upload, PNG)).status).toBe(204);

    const file = await requestAs(t, person).post('/api/files/register', { storageKey: issued.body.storageKey }).expect(200);
    const meta = await requestAs(t, practice.client).get(`/api/files/${file.body.id}`).expect(200);
    const image = await fetch(meta.body.url);
    expect(image.status).toBe(200);
    expect(Buffer.compare(Buffer.from(await image.arrayBuffer()), PNG)).toBe(0);
    expect(image.headers.get('content-disposition')).toMatch(/^inline; filename="avatar.png"/);
  });

  it('signs only the registered key: the signed URL does not open another key, and a forged one is refused', async () => {
    const person = await userWithToken(t);
    const issued = await presign(person).expect(201);
    await postToBucket(issued.body.upload, PNG);
    const file = await requestAs(t, person).post('/api/files/register', { storageKey: issued.body.storageKey }).expect(200);
    const { url } = (await requestAs(t, person).get(`/api/files/${file.body.id}`).expect(200)).body as { url: string };
    const other = new URL(url);
    other.pathname = `/${s3.bucket}/attachments/anything.bin`;
    expect((await fetch(other)).status).toBe(403);
    const tampered = new URL(url);
    tampered.searchParams.set('X-Amz-Signature', '0'.repeat(64));
    expect((await fetch(tampered)).status).toBe(403);
    expect((await fetch(`${s3.endpoint}/${s3.bucket}/${issued.body.storageKey}`)).status).toBe(403); // anonymous
  });

  it('refuses a registered upload whose bytes are not the declared type, removing it from the bucket', async () => {
    const person = await userWithToken(t);
    const issued = await presign(person, { size: GIF.length }).expect(201);
    expect((await postToBucket(issued.body.upload, GIF)).status).toBe(204);
    await requestAs(t, person).post('/api/files/register', { storageKey: issued.body.storageKey }).expect(422);
    const head = await fetch(`${s3.endpoint}/${s3.bucket}/${issued.body.storageKey}`);
    expect(head.status).toBe(403); // anonymous either way; the adapter's own view follows
    expect(await t.modules.files.storage.head(issued.body.storageKey)).toBeNull();
  });

  it('lists the bucket for the orphan sweep: a deleted session’s attachment goes', async () => {
    const session = await factories(t).session({ userId: practice.client.user.id, counselorId: practice.counselor.user.id, organizationId: practice.id });
    const uploaded = await attach(t, practice.client.auth, session.id, { data: PDF }).expect(201);
    const key = (await t.context.models.StoredFile.findByPk(uploaded.body.id))!.storageKey;
    await requestAs(t, practice.client).delete(`/api/sessions/${session.id}`).expect(204);
    await t.modules.files.retentionJobs['purge-orphaned-files'].run(new Date(Date.now() + 2 * 86_400_000));
    expect(await t.modules.files.storage.head(key)).toBeNull();
  });
});
