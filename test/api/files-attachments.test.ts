import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentCipher } from '../../src/crypto/content-cipher.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { factories } from '../helpers/factories.js';
import { attach, binary, PDF, PNG } from '../helpers/files.js';
import { createPractice, requestAs, type Practice } from '../helpers/practice.js';
import { userWithToken } from '../helpers/users.js';

let t: TestApp;
let practice: Practice;
let sessionId: string;

/** Every file under the local adapter's directory (what "the bucket" holds). */
function storedObjects(): string[] {
  const root = join(t.config.dataDir, 'files');
  try {
    return readdirSync(root, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
  } catch {
    return [];
  }
}

const download = (auth: string, fileId: string) => request(t.app).get(`/api/files/${fileId}/stream`).set('Authorization', auth).buffer(true).parse(binary);

beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true, env: { FILE_ATTACHMENT_MAX_MB: '1' } });
  practice = await createPractice(t);
  const session = await factories(t).session({ userId: practice.client.user.id, counselorId: practice.counselor.user.id, organizationId: practice.id });
  sessionId = session.id;
});
afterAll(() => t.close());

describe('POST /api/sessions/:id/attachments', () => {
  it('stores a PDF from the client encrypted, and the counselor downloads the same bytes as an attachment', async () => {
    const res = await attach(t, practice.client.auth, sessionId, { data: PDF, filename: 'worksheet.pdf', contentType: 'application/pdf' }).expect(201);
    expect(res.body).toMatchObject({ purpose: 'attachment', contentType: 'application/pdf', size: PDF.length, filename: 'worksheet.pdf', sessionId });

    const got = await download(practice.counselor.auth, res.body.id).expect(200);
    expect(Buffer.compare(got.body as Buffer, PDF)).toBe(0);
    expect(got.headers['content-type']).toBe('application/pdf');
    expect(got.headers['content-disposition']).toBe(`attachment; filename="worksheet.pdf"; filename*=UTF-8''worksheet.pdf`);
    expect(got.headers['x-content-type-options']).toBe('nosniff');
    expect(got.headers['content-security-policy']).toBe("sandbox; default-src 'none'");
    expect(got.headers['cache-control']).toBe('private, no-store');
  });

  it('leaves only ciphertext in storage: the raw object holds no byte of the plaintext, and the row no readable key', async () => {
    const secret = Buffer.from(`Dear counselor, my secret is ${randomBytes(8).toString('hex')}. `.repeat(50));
    const res = await attach(t, practice.client.auth, sessionId, { data: secret, filename: 'letter-to-my-counselor.txt' }).expect(201);
    const row = await t.context.models.StoredFile.findByPk(res.body.id);
    const raw = readFileSync(join(t.config.dataDir, 'files', row!.storageKey));

    expect(raw.subarray(0, 4).toString()).toBe('CFE1');
    expect(raw.includes(secret.subarray(0, 40))).toBe(false);
    expect(raw.includes(Buffer.from('secret'))).toBe(false);
    expect(row!.storageKey).toMatch(/^attachments\/[0-9a-f-]{36}\/[0-9a-f-]{36}\.bin$/); // neither the name nor the type in the key
    // Key and name sealed under the data key of the session's client (test/api/data-keys-attachments.test.ts).
    const clientKey = await t.infra.keyStore.keys.findOne({ where: { ownerId: practice.client.user.id }, raw: true });
    expect(ContentCipher.keyIdOf(row!.filename!)).toBe(clientKey!.id);
    expect(ContentCipher.keyIdOf(row!.wrappedKey!)).toBe(clientKey!.id);
    expect(row!.filename).not.toContain('letter');
  });

  it('decides the type by the bytes, not by the declared type or the name', async () => {
    const res = await attach(t, practice.client.auth, sessionId, { data: PNG, filename: 'report.pdf', contentType: 'application/pdf' }).expect(201);
    expect(res.body.contentType).toBe('image/png');
  });

  it('refuses content of no allowed type with 415, and stores nothing', async () => {
    const before = { rows: await t.context.models.StoredFile.count(), objects: storedObjects().length };
    const res = await attach(t, practice.client.auth, sessionId, { data: Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), randomBytes(200)]), filename: 'tool.pdf', contentType: 'application/pdf' }).expect(415);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('UNSUPPORTED_FILE_TYPE');
    expect({ rows: await t.context.models.StoredFile.count(), objects: storedObjects().length }).toEqual(before);
  });

  it.each([
    ['HTML', '<!doctype html><html><body><script>alert(document.cookie)</script></body></html>', 'page.html', 'text/html'],
    ['SVG', '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>', 'picture.svg', 'image/svg+xml'],
    ['JavaScript', 'fetch("/api/users/me").then((r) => r.text()).then(alert);', 'app.js', 'text/javascript'],
  ])('serves %s only as a plain-text download, never inline, never as its own type', async (_kind, text, filename, declared) => {
    const res = await attach(t, practice.client.auth, sessionId, { data: Buffer.from(text), filename, contentType: declared }).expect(201);
    expect(res.body.contentType).toBe('text/plain');

    const got = await download(practice.client.auth, res.body.id).expect(200);
    expect(got.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(got.headers['content-disposition']).toMatch(/^attachment; /);
    expect(got.headers['x-content-type-options']).toBe('nosniff');
    expect(got.headers['content-security-policy']).toBe("sandbox; default-src 'none'");
  });

  it('sanitizes a filename that tries to inject headers or parameters', async () => {
    const evil = `evil"; filename=x.html\r\nSet-Cookie: a=b;\\..\\/etc/passwd-Ünïcode-日本.txt`;
    const res = await attach(t, practice.client.auth, sessionId, { data: Buffer.from('hello'), filenameParam: `filename*=UTF-8''${encodeURIComponent(evil)}` }).expect(201);
    expect(res.body.filename).toBe(evil);

    const got = await download(practice.client.auth, res.body.id).expect(200);
    expect(got.headers['set-cookie']).toBeUndefined();
    const disposition = got.headers['content-disposition'] as string;
    const [, ascii] = /filename="([^"]*)"/.exec(disposition)!;
    expect(ascii).toMatch(/^[\x20-\x7e]*$/);
    expect(ascii).not.toMatch(/[\r\n";\\/]/);
    expect(disposition.split(';').map((part) => part.trim().split('=')[0])).toEqual(['attachment', 'filename', 'filename*']);
    expect(decodeURIComponent(/filename\*=UTF-8''(.*)$/.exec(disposition)![1]!)).toBe(evil.replace(/[\r\n]/g, '').replace(/[/\\]/g, '_'));
  });

  it('caps the size (FILE_ATTACHMENT_MAX_MB) with 413 and keeps nothing of the upload', async () => {
    const before = { rows: await t.context.models.StoredFile.count(), objects: storedObjects().length };
    const res = await attach(t, practice.client.auth, sessionId, { data: Buffer.concat([PDF, Buffer.alloc(1_048_576 + 10, 0x20)]) }).expect(413);
    expect(res.body.code).toBe('FILE_TOO_LARGE');
    expect({ rows: await t.context.models.StoredFile.count(), objects: storedObjects().length }).toEqual(before);
  });

  it('takes a file of exactly FILE_ATTACHMENT_MAX_MB, and refuses one byte more', async () => {
    const exactly = Buffer.concat([PDF, Buffer.alloc(1_048_576 - PDF.length, 0x20)]);
    await attach(t, practice.client.auth, sessionId, { data: exactly }).expect(201);
    const over = await attach(t, practice.client.auth, sessionId, { data: Buffer.concat([exactly, Buffer.from(' ')]) }).expect(413);
    expect(over.body.code).toBe('FILE_TOO_LARGE');
  });

  it('refuses a body that is not multipart, and one without a file part, with 400', async () => {
    const json = await requestAs(t, practice.client).post(`/api/sessions/${sessionId}/attachments`, { file: 'x' }).expect(400);
    expect(json.body.code).toBe('MULTIPART_REQUIRED');
  });
});

describe('who may add and read attachments', () => {
  let fileId: string;
  beforeAll(async () => {
    fileId = (await attach(t, practice.counselor.auth, sessionId, { data: PDF, filename: 'plan.pdf' }).expect(201)).body.id;
  });

  it('lets the client and their counselor upload; staff are refused (403), strangers do not learn the session exists (404)', async () => {
    const stranger = await userWithToken(t);
    const otherCounselor = await practice.join('counselor');
    await attach(t, practice.manager.auth, sessionId, { data: PDF }).expect(403);
    await attach(t, practice.owner.auth, sessionId, { data: PDF }).expect(403);
    await attach(t, stranger.auth, sessionId, { data: PDF }).expect(404);
    await attach(t, otherCounselor.auth, sessionId, { data: PDF }).expect(404);
  });

  it('shows staff the list without names and refuses them the content; the client reads it', async () => {
    const list = await requestAs(t, practice.manager).get(`/api/sessions/${sessionId}/attachments`).expect(200);
    expect(list.body.items.length).toBeGreaterThan(0);
    expect(list.body.items.every((item: { filename: string | null }) => item.filename === null)).toBe(true);
    const refused = await download(practice.manager.auth, fileId).expect(403);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);

    const own = await requestAs(t, practice.client).get(`/api/sessions/${sessionId}/attachments`).expect(200);
    expect(own.body.items.map((item: { filename: string }) => item.filename)).toContain('plan.pdf');
    await download(practice.client.auth, fileId).expect(200);
  });

  it('refuses a platform admin the content without break-glass, and strangers everything with 404', async () => {
    const admin = await userWithToken(t, { role: 'admin' });
    const stranger = await userWithToken(t);
    await download(admin.auth, fileId).expect(403);
    await download(stranger.auth, fileId).expect(404);
    await requestAs(t, stranger).get(`/api/files/${fileId}`).expect(404);
    await requestAs(t, stranger).get(`/api/sessions/${sessionId}/attachments`).expect(404);
  });

  it('closes the content to the counselor once the care relationship ends', async () => {
    const session = await factories(t).session({ userId: practice.client.user.id, counselorId: practice.counselor.user.id, organizationId: practice.id });
    const id = (await attach(t, practice.client.auth, session.id, { data: PDF }).expect(201)).body.id;
    await download(practice.counselor.auth, id).expect(200);
    await t.context.models.CareRelationship.update({ endedAt: new Date() }, { where: { id: practice.care.id } });
    await download(practice.counselor.auth, id).expect(404);
    await t.context.models.CareRelationship.update({ endedAt: null }, { where: { id: practice.care.id } });
  });
});
