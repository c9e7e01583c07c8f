import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { factories } from '../helpers/factories.js';
import { attach, PDF } from '../helpers/files.js';
import { createPractice, type Practice } from '../helpers/practice.js';

const MB = 1_048_576;

let t: TestApp;
let server: Server;
let base: string;
let practice: Practice;
let sessionId: string;

/** The chunk the big file repeats (a PDF, so the content check passes), and its multipart frame. */
const CHUNK = Buffer.alloc(64 * 1024, 0x41);
const BOUNDARY = 'confidant-large-upload';

/** A 50 MB multipart body, made 64 KB at a time as it is sent: the test holds no copy of it. */
async function* largeBody(totalBytes: number, every10Mb: () => Promise<void> = async () => undefined) {
  yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="recording.pdf"\r\nContent-Type: application/pdf\r\n\r\n`);
  yield PDF;
  for (let sent = PDF.length; sent < totalBytes; sent += CHUNK.length) {
    if (sent % (10 * MB) < CHUNK.length) await every10Mb();
    yield CHUNK.subarray(0, Math.min(CHUNK.length, totalBytes - sent));
  }
  yield Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
}

async function expectedHash(totalBytes: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const part of largeBody(totalBytes)) hash.update(part);
  return hash.digest('hex');
}

// A collection before each sample, so that what is measured is what is still held, not garbage.
v8.setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/**
 * The bytes JavaScript still holds: live heap and buffers, after a collection and a moment for
 * V8's background sweeper to hand back the freed buffers (it runs beside the main thread).
 */
async function held(): Promise<number> {
  let least = Infinity;
  for (let round = 0; round < 3; round += 1) {
    collect();
    await new Promise((resolve) => setTimeout(resolve, 25));
    const usage = process.memoryUsage();
    least = Math.min(least, usage.heapUsed + usage.arrayBuffers);
  }
  return least;
}

/**
 * Runs `work`, which calls `sample()` as the bytes go by (every 10 MB: the body is pulled only
 * as fast as the server takes it, so the server is then that far in); returns the highest live
 * memory above the level before. A server that buffered the file would show tens of MB.
 */
async function peakGrowth<T>(work: (sample: () => Promise<void>) => Promise<T>): Promise<{ result: T; growth: number; samples: number }> {
  const before = await held();
  let peak = before;
  let samples = 0;
  const result = await work(async () => {
    samples += 1;
    peak = Math.max(peak, await held());
  });
  return { result, growth: Math.max(peak, await held()) - before, samples };
}

beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true, env: { AUTH_SECRET: 'auth-secret-for-the-large-file-test-0123' } });
  practice = await createPractice(t);
  sessionId = (await factories(t).session({ userId: practice.client.user.id, counselorId: practice.counselor.user.id, organizationId: practice.id })).id;
  server = createServer(t.app).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

describe('a 50 MB attachment', { timeout: 120_000 }, () => {
  const total = 50 * MB - 1024; // the file part; the default FILE_ATTACHMENT_MAX_MB is 50
  let fileId: string;

  it('uploads with memory that stays flat (far below the file’s size)', async () => {
    const { result, growth, samples } = await peakGrowth(
      (sample) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = httpRequest(`${base}/api/sessions/${sessionId}/attachments`, {
            method: 'POST',
            headers: { Authorization: practice.client.auth, 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` },
          });
          req.on('response', (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          });
          req.on('error', reject);
          Readable.from(largeBody(total, sample)).pipe(req);
        }),
    );
    expect(result.status, result.body).toBe(201);
    fileId = (JSON.parse(result.body) as { id: string; size: number }).id;
    expect((JSON.parse(result.body) as { size: number }).size).toBe(total);
    expect(samples).toBe(5);
    expect(growth).toBeLessThan(20 * MB);
  });

  it('downloads decrypted, byte for byte, with memory that stays flat', async () => {
    const { result: hash, growth, samples } = await peakGrowth(
      (sample) =>
        new Promise<string>((resolve, reject) => {
          httpRequest(`${base}/api/files/${fileId}/stream`, { headers: { Authorization: practice.counselor.auth } }, (res) => {
            expect(res.statusCode).toBe(200);
            expect(res.headers['content-length']).toBe(String(total));
            const digest = createHash('sha256');
            // The multipart frame around the file is hashed the same way on both sides.
            digest.update(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="recording.pdf"\r\nContent-Type: application/pdf\r\n\r\n`));
            let received = 0;
            res.on('data', (chunk: Buffer) => {
              const crossed = Math.floor((received + chunk.length) / (10 * MB)) > Math.floor(received / (10 * MB));
              received += chunk.length;
              digest.update(chunk);
              if (crossed) {
                res.pause();
                void sample().then(() => res.resume());
              }
            });
            res.on('end', () => {
              digest.update(Buffer.from(`\r\n--${BOUNDARY}--\r\n`));
              resolve(digest.digest('hex'));
            });
            res.on('error', reject);
          })
            .on('error', reject)
            .end();
        }),
    );
    expect(hash).toBe(await expectedHash(total));
    expect(samples).toBe(4);
    expect(growth).toBeLessThan(20 * MB);
  });
});

describe('a client that goes away mid-upload', () => {
  it('leaves no row and no object (not even half a file), and the server goes on', async () => {
    const before = await t.context.models.StoredFile.count();
    const dir = join(t.config.dataDir, 'files', 'attachments', sessionId);
    const objectsBefore = existsSync(dir) ? readdirSync(dir).length : 0;
    const stored = new Promise<void>((resolve) => {
      const req = httpRequest(`${base}/api/sessions/${sessionId}/attachments`, {
        method: 'POST',
        headers: { Authorization: practice.client.auth, 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, 'Content-Length': String(10 * MB) },
      });
      req.on('error', () => resolve());
      req.write(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="cut.pdf"\r\n\r\n`));
      req.write(PDF);
      req.write(CHUNK, () => setTimeout(() => req.destroy(), 50));
    });
    await stored;
    // The server notices, fails the upload and removes the partial file; poll until it has.
    await expect.poll(() => (existsSync(dir) ? readdirSync(dir).length : 0), { timeout: 10_000 }).toBe(objectsBefore);
    expect(await t.context.models.StoredFile.count()).toBe(before);
    await attach(t, practice.client.auth, sessionId, { data: PDF }).expect(201);
  });
});
