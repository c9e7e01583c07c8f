import { request } from 'node:http';
import { readFileSync } from 'node:fs';

const MB = 1_048_576;
const BOUNDARY = 'confidant-bench-upload';
/** A PDF's first bytes, so the content check by magic bytes passes; the rest repeats one chunk. */
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const CHUNK = Buffer.alloc(64 * 1024, 0x41);

export interface AttachmentRun {
  megabytes: number;
  idleRssMb: number;
  peakRssMb: number;
  uploadS: number;
  downloadS: number;
  downloadedBytes: number;
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((row) => row.startsWith('VmRSS:'));
  return Math.round(Number(line?.replace(/\D+/g, '') ?? 0) / 102.4) / 10;
}

/** A multipart body of `totalBytes` of file, made 64 KB at a time as the server takes it. */
async function* multipart(totalBytes: number) {
  yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="recording.pdf"\r\nContent-Type: application/pdf\r\n\r\n`);
  yield PDF;
  for (let sent = PDF.length; sent < totalBytes; sent += CHUNK.length) yield CHUNK.subarray(0, Math.min(CHUNK.length, totalBytes - sent));
  yield Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
}

function upload(url: URL, token: string, totalBytes: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    (async () => {
      for await (const part of multipart(totalBytes)) if (!req.write(part)) await new Promise((done) => req.once('drain', done));
      req.end();
    })().catch(reject);
  });
}

function download(url: URL, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`download answered ${res.statusCode}`));
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve(bytes));
    })
      .on('error', reject)
      .end();
  });
}

/**
 * A 50 MB counseling attachment up (encrypted by the API on its way to storage) and down
 * (decrypted on its way out), against the running server `pid`, whose RSS is sampled every
 * 20 ms: what the server holds beyond its idle footprint while the file streams through.
 */
export async function attachmentRoundTrip(base: string, token: string, pid: number, megabytes = 50): Promise<AttachmentRun> {
  const started = await fetch(`${base}/api/sessions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
  if (started.status !== 201) throw new Error(`starting a session answered ${started.status}`);
  const { id: sessionId } = (await started.json()) as { id: string };
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const idleRssMb = rssMb(pid);
  let peakRssMb = idleRssMb;
  const sampler = setInterval(() => (peakRssMb = Math.max(peakRssMb, rssMb(pid))), 20);
  try {
    const upAt = performance.now();
    const uploaded = await upload(new URL(`${base}/api/sessions/${sessionId}/attachments`), token, megabytes * MB);
    if (uploaded.status !== 201) throw new Error(`the upload answered ${uploaded.status}: ${uploaded.body}`);
    const uploadS = (performance.now() - upAt) / 1000;
    const { id: fileId } = JSON.parse(uploaded.body) as { id: string };
    const downAt = performance.now();
    const downloadedBytes = await download(new URL(`${base}/api/files/${fileId}/stream`), token);
    const downloadS = (performance.now() - downAt) / 1000;
    return { megabytes, idleRssMb, peakRssMb, uploadS: +uploadS.toFixed(2), downloadS: +downloadS.toFixed(2), downloadedBytes };
  } finally {
    clearInterval(sampler);
  }
}
