import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { deriveKey } from '../../src/crypto/secret-box.js';
import { signToken } from '../../src/crypto/signed-token.js';
import { JobLocks } from '../../src/infra/job-locks.js';
import { runRetentionJobs } from '../../src/jobs/scheduler.js';
import { retentionJobs } from '../../src/jobs/retention-jobs.js';
import { loggablePath } from '../../src/middleware/access-log.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, counsel, type Counseled } from '../helpers/data-keys.js';
import { attach, binary, PDF } from '../helpers/files.js';
import { inCareOf } from '../helpers/practice.js';
import { createUser, type TestUser } from '../helpers/users.js';

let t: TestApp;
let counselorUser: TestUser;
let counselor: string;
let alice: TestUser;
let aliceAuth: string;
let aliceContent: Counseled;
let aliceAttachment: { id: string; bytes: Buffer };
let bob: TestUser;
let bobContent: Counseled;
let bobAttachment: { id: string; bytes: Buffer };

/** A PDF of its own: bytes nobody else's file has. */
const pdfWith = (label: string) => Buffer.concat([PDF, Buffer.from(`% ${label} ${Math.random()}\n`)]);

async function unzip(zip: Buffer): Promise<Map<string, Buffer>> {
  const archive = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(zip, { lazyEntries: true }, (error, file) => (error ? reject(error) : resolve(file))));
  const entries = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    archive.on('entry', (entry: yauzl.Entry) => {
      archive.openReadStream(entry, (error, stream) => {
        if (error) return reject(error);
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          entries.set(entry.fileName, Buffer.concat(chunks));
          archive.readEntry();
        });
      });
    });
    archive.on('end', resolve);
    archive.on('error', reject);
    archive.readEntry();
  });
  return entries;
}

const startExport = (auth: string) => request(t.app).post('/api/users/me/exports').set('Authorization', auth);
const exportState = (auth: string, id: string) => request(t.app).get(`/api/users/me/exports/${id}`).set('Authorization', auth);
const fetchArchive = (url: string) => request(t.app).get(new URL(url).pathname + new URL(url).search).buffer(true).parse(binary);

/** Reads the export's state until it is no longer queued or running (each read also starts an idle queue). */
async function settled(auth: string, id: string) {
  for (let attempt = 0; attempt < 1000; attempt += 1) {
    const res = await exportState(auth, id).expect(200);
    if (res.body.status !== 'queued' && res.body.status !== 'running') return res.body as { status: string; size: number | null; download: { url: string; expiresAt: string } | null };
    await sleep(10);
  }
  throw new Error(`export ${id} never finished`);
}

beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
  counselorUser = await createUser(t, { role: 'counselor' });
  alice = await createUser(t);
  bob = await createUser(t);
  await inCareOf(t, counselorUser.id, alice.id);
  await inCareOf(t, counselorUser.id, bob.id);
  counselor = await bearer(t.app, counselorUser);
  aliceAuth = await bearer(t.app, alice);
  const bobAuth = await bearer(t.app, bob);
  aliceContent = await counsel(t.app, aliceAuth, counselor, counselorUser.id, 'alice');
  bobContent = await counsel(t.app, bobAuth, counselor, counselorUser.id, 'bob');
  const aliceBytes = pdfWith('alice worksheet');
  const bobBytes = pdfWith('bob worksheet');
  // One of Alice's files comes from her counselor: it is part of her record, so of her export.
  aliceAttachment = { id: (await attach(t, counselor, aliceContent.openId, { data: aliceBytes, filename: '../../Alice’s worksheet.pdf', contentType: 'application/pdf' }).expect(201)).body.id, bytes: aliceBytes };
  bobAttachment = { id: (await attach(t, bobAuth, bobContent.openId, { data: bobBytes, filename: 'bob.pdf', contentType: 'application/pdf' }).expect(201)).body.id, bytes: bobBytes };
});
afterAll(() => t.close());

describe('POST /api/users/me/exports: the export archive', () => {
  let exportId: string;
  let link: string;
  let zip: Buffer;

  it('queues the export with 202 and a Location, and refuses a second one with 409 while it waits', async () => {
    // Another instance holds the queue: this one cannot start it, so it stays queued.
    const other = new JobLocks(t.infra.models, 'another-instance');
    expect(await other.acquire('data-exports', 60_000)).toBe(true);
    const res = await startExport(aliceAuth).expect(202);
    exportId = res.body.id;
    expect(res.headers.location).toBe(`/api/users/me/exports/${exportId}`);
    expect(res.body).toMatchObject({ status: 'queued', download: null, size: null });
    expect(new Date(res.body.expiresAt).getTime() - new Date(res.body.createdAt).getTime()).toBe(24 * 3_600_000);

    const again = await startExport(aliceAuth).expect(409);
    expect(again.body).toMatchObject({ code: 'EXPORT_IN_PROGRESS', exportId });
    expect(again.headers.location).toBe(`/api/users/me/exports/${exportId}`);
    expect((await exportState(aliceAuth, exportId).expect(200)).body.status).toBe('queued');
    await other.release('data-exports', {});
  });

  it('is built once the queue is free, and shows a download link that lasts five minutes', async () => {
    const state = await settled(aliceAuth, exportId);
    expect(state.status).toBe('ready');
    expect(state.size).toBeGreaterThan(aliceAttachment.bytes.length);
    const expires = new Date(state.download!.expiresAt).getTime() - Date.now();
    expect(expires).toBeGreaterThan(200_000);
    expect(expires).toBeLessThanOrEqual(300_000);
    link = state.download!.url;
    expect(link.startsWith(`${t.config.publicUrl}/api/exports/${exportId}/archive?token=`)).toBe(true);
  });

  it('waits in storage as ciphertext: no zip header, no name, no text of the person', async () => {
    const row = (await t.infra.models.DataExport.findByPk(exportId))!;
    expect(row.storageKey).toMatch(new RegExp(`^exports/${alice.id}/`));
    expect(row.sealedKey).toMatch(/^enc2:/); // under Alice's own data key
    const stored = await t.modules.files.storage.get(row.storageKey!);
    const chunks: Buffer[] = [];
    for await (const chunk of stored) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    expect(raw.subarray(0, 2).toString('latin1')).not.toBe('PK');
    for (const needle of ['export.json', ...aliceContent.texts, alice.email]) expect(raw.includes(Buffer.from(needle))).toBe(false);
  });

  it('is not shown to anyone else', async () => {
    await exportState(counselor, exportId).expect(404);
    await exportState(aliceAuth, '00000000-0000-4000-8000-000000000000').expect(404);
    await exportState(aliceAuth, 'not-a-uuid').expect(400);
  });

  it('refuses a forged, expired or misdirected link with 403 and a malformed one with 400, and none of them uses it up', async () => {
    const token = new URL(link).searchParams.get('token')!;
    const key = deriveKey(t.config.secrets.authSecret, 'export-links');
    const expired = signToken(key, 'export', { id: exportId, exp: Math.floor(Date.now() / 1000) - 1 });
    const forged = signToken(deriveKey('another secret entirely, 32 chars+', 'export-links'), 'export', { id: exportId, exp: Math.floor(Date.now() / 1000) + 300 });
    const otherKind = signToken(key, 'get', { id: exportId, exp: Math.floor(Date.now() / 1000) + 300 });
    for (const bad of [expired, forged, otherKind]) {
      const res = await request(t.app).get(`/api/exports/${exportId}/archive`).query({ token: bad }).expect(403);
      expect(res.body.code).toBe('INVALID_SIGNATURE');
    }
    // The right token for another export id.
    await request(t.app).get(`/api/exports/00000000-0000-4000-8000-000000000000/archive`).query({ token }).expect(403);
    await request(t.app).get(`/api/exports/${exportId}/archive`).query({ token: 'no dots here' }).expect(400);
    await request(t.app).get(`/api/exports/${exportId}/archive`).expect(400);
    expect((await exportState(aliceAuth, exportId).expect(200)).body.status).toBe('ready');
  });

  it('downloads once: a zip of export.json and every file of the person, with safe names', async () => {
    const res = await fetchArchive(link).expect(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="confidant-export-\d{4}-\d{2}-\d{2}\.zip"$/);
    expect(res.headers['cache-control']).toBe('private, no-store');
    zip = res.body as Buffer;
    expect(zip.length).toBe(Number(res.headers['content-length']));
    const entries = await unzip(zip);
    const document = JSON.parse(entries.get('export.json')!.toString('utf8'));

    // The same document as the synchronous export, and the same policy for what is in it.
    const direct = (await request(t.app).get('/api/users/me/export').set('Authorization', aliceAuth).expect(200)).body;
    const { exportedAt: _a, securityEvents: _s, archive, ...archived } = document;
    const { exportedAt: _b, securityEvents: _t, ...answered } = direct;
    expect(archived).toEqual(answered);
    expect(JSON.stringify(document)).toContain(aliceContent.texts[0]);

    // Her attachment, byte for byte, at the path export.json gives it, under a name that stays inside the zip.
    const placed = archive.files.find((file: { id: string }) => file.id === aliceAttachment.id);
    expect(placed.path).toMatch(new RegExp(`^files/${aliceAttachment.id}/[^/]+$`));
    expect(placed.path).not.toContain('..');
    expect(entries.get(placed.path)).toEqual(aliceAttachment.bytes);
    for (const name of entries.keys()) expect(name === 'export.json' || name.startsWith('files/')).toBe(true);
  });

  it('holds nothing of anyone else', async () => {
    const entries = await unzip(zip);
    const everything = Buffer.concat([...entries.values()]);
    for (const needle of [...bobContent.texts, bobContent.comment, bob.email, bobAttachment.id]) expect(everything.includes(Buffer.from(needle))).toBe(false);
    expect(everything.includes(bobAttachment.bytes)).toBe(false);
  });

  it('answers a second download with 410 EXPORT_GONE, and the archive is deleted from storage', async () => {
    const res = await request(t.app).get(new URL(link).pathname + new URL(link).search).expect(410);
    expect(res.body.code).toBe('EXPORT_GONE');
    const state = (await exportState(aliceAuth, exportId).expect(200)).body;
    expect(state).toMatchObject({ status: 'downloaded', download: null });
    const row = (await t.infra.models.DataExport.findByPk(exportId))!;
    for (let attempt = 0; attempt < 200 && (await t.modules.files.storage.head(row.storageKey!)); attempt += 1) await sleep(10);
    expect(await t.modules.files.storage.head(row.storageKey!)).toBeNull();
  });

  it('records the request and the download as security events of the person', async () => {
    await t.context.events.flush();
    const events = await t.infra.models.SecurityEvent.findAll({ where: { userId: alice.id, type: ['data_export_requested', 'data_exported'] } });
    expect(events.map((event) => event.type).sort()).toEqual(['data_export_requested', 'data_exported', 'data_exported']); // and the direct GET
    expect(events.find((event) => event.type === 'data_exported' && (event.metadata as { format?: string } | null)?.format === 'archive')).toBeDefined();
  });

  it('keeps the token of a link out of the access log', () => {
    expect(loggablePath(`/api/exports/${exportId}/archive?token=abc.def`)).toBe(`/api/exports/${exportId}/archive?token=[redacted]`);
  });
});

describe('export archives over their lifetime', () => {
  it('takes over an export an instance left running, and builds it', async () => {
    const carol = await createUser(t);
    const carolAuth = await bearer(t.app, carol);
    const left = await t.infra.models.DataExport.create({
      id: '11111111-1111-4111-8111-111111111111', userId: carol.id, status: 'running', startedAt: new Date(Date.now() - 31 * 60_000), expiresAt: new Date(Date.now() + 3_600_000),
    });
    t.modules.privacy.exports.kick();
    const state = await settled(carolAuth, left.id);
    expect(state.status).toBe('ready');
  });

  it('deletes an archive and its row a day after it was asked for, downloaded or not', async () => {
    const dave = await createUser(t);
    const daveAuth = await bearer(t.app, dave);
    const id = (await startExport(daveAuth).expect(202)).body.id as string;
    expect((await settled(daveAuth, id)).status).toBe('ready');
    const row = (await t.infra.models.DataExport.findByPk(id))!;
    expect(await t.modules.files.storage.head(row.storageKey!)).not.toBeNull();

    const jobs = { 'purge-data-exports': retentionJobs(t.infra, t.modules)['purge-data-exports']! };
    const early = await runRetentionJobs({ jobs, locks: t.infra.locks, logger: t.infra.logger });
    expect(early['purge-data-exports']).toBe(0);
    const late = await jobs['purge-data-exports'].run(new Date(Date.now() + 24 * 3_600_000 + 1000));
    expect(late.dataExports).toBeGreaterThanOrEqual(1);
    expect(await t.infra.models.DataExport.findByPk(id)).toBeNull();
    expect(await t.modules.files.storage.head(row.storageKey!)).toBeNull();
    await exportState(daveAuth, id).expect(404);
  });

  it('goes with the account: the row at once, the archive from storage', async () => {
    const erin = await createUser(t);
    const erinAuth = await bearer(t.app, erin);
    const id = (await startExport(erinAuth).expect(202)).body.id as string;
    const { download } = await settled(erinAuth, id);
    const row = (await t.infra.models.DataExport.findByPk(id))!;
    await request(t.app).delete('/api/users/me').set('Authorization', erinAuth).send({ password: erin.password }).expect(204);
    expect(await t.infra.models.DataExport.findByPk(id)).toBeNull();
    for (let attempt = 0; attempt < 200 && (await t.modules.files.storage.head(row.storageKey!)); attempt += 1) await sleep(10);
    expect(await t.modules.files.storage.head(row.storageKey!)).toBeNull();
    await fetchArchive(download!.url).expect(410);
  });
});
