import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as forward, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import busboy from 'busboy';
import S3rver from 's3rver';

export const S3_ACCESS_KEY = 'S3RVER';
export const S3_SECRET = 'S3RVER';
const REGION = 'us-east-1';

/**
 * An S3-protocol server on 127.0.0.1 for the tests: s3rver (a real S3 implementation on
 * the file system) behind a front that checks what s3rver does not: every request's SigV4
 * signature (header or presigned query, with its expiry), anonymous requests refused as a
 * private bucket refuses them, browser POST uploads against their signed policy (key, type,
 * size range, encryption, expiry), and server-side encryption on every write, as a bucket
 * policy that denies unencrypted writes would. `log` records what it saw.
 */
export async function startS3Server(bucket = 'confidant-test') {
  const directory = mkdtempSync(join(tmpdir(), 'confidant-s3-'));
  const backend = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const { port: backendPort } = await backend.run();
  const log: { method: string; path: string; outcome: string; sse?: string }[] = [];
  const front = createServer((req, res) => {
    void handle(req, res).catch((error: Error) => refuse(res, 500, 'InternalError', error.message));
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const entry = { method: req.method ?? 'GET', path: url.pathname, outcome: 'forwarded', sse: req.headers['x-amz-server-side-encryption'] as string | undefined };
    log.push(entry);
    if (req.method === 'POST' && !url.search && (req.headers['content-type'] ?? '').startsWith('multipart/form-data')) {
      const body = await readAll(req);
      const problem = await checkPostPolicy(req, body, url.pathname);
      if (problem) return refuse(res, 403, problem, (entry.outcome = problem));
      entry.sse = 'form';
      return pass(req, res, body);
    }
    const problem = checkSignature(req, url);
    if (problem) return refuse(res, 403, problem, (entry.outcome = problem));
    const write = (req.method === 'PUT' && !url.searchParams.has('partNumber') && !req.headers['x-amz-copy-source']) || (req.method === 'POST' && url.searchParams.has('uploads'));
    if (write && !req.headers['x-amz-server-side-encryption']) return refuse(res, 400, 'MissingSSE', (entry.outcome = 'MissingSSE'));
    return pass(req, res);
  }

  function pass(req: IncomingMessage, res: ServerResponse, body?: Buffer) {
    const upstream = forward({ host: '127.0.0.1', port: backendPort, method: req.method, path: req.url, headers: body ? { ...req.headers, 'content-length': String(body.length) } : req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    if (body) upstream.end(body);
    else req.pipe(upstream);
  }

  front.listen(0, '127.0.0.1');
  await new Promise((resolve) => front.once('listening', resolve));
  const endpoint = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  return {
    endpoint,
    bucket,
    directory,
    log,
    env: { STORAGE_DRIVER: 's3', S3_BUCKET: bucket, S3_REGION: REGION, S3_ENDPOINT: endpoint, S3_FORCE_PATH_STYLE: 'true', S3_ACCESS_KEY_ID: S3_ACCESS_KEY, S3_SECRET_ACCESS_KEY: S3_SECRET },
    async close() {
      await new Promise<void>((resolve) => (front as Server).close(() => resolve()));
      front.closeAllConnections();
      await backend.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

function refuse(res: ServerResponse, status: number, code: string, message: string) {
  res.writeHead(status, { 'Content-Type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const encode = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function signingKey(date: string) {
  return hmac(hmac(hmac(hmac(`AWS4${S3_SECRET}`, date), REGION), 's3'), 'aws4_request');
}

/** `amz-date` as a time; `null` when malformed. */
function parseAmzDate(value: string): number | null {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return match ? Date.UTC(+match[1]!, +match[2]! - 1, +match[3]!, +match[4]!, +match[5]!, +match[6]!) : null;
}

/** SigV4 of a request signed in its Authorization header or in its query (a presigned URL). */
function checkSignature(req: IncomingMessage, url: URL): string | null {
  const query = url.searchParams;
  const presigned = query.has('X-Amz-Signature');
  let credential: string, signedHeaders: string, signature: string, amzDate: string, payload: string;
  if (presigned) {
    credential = query.get('X-Amz-Credential') ?? '';
    signedHeaders = query.get('X-Amz-SignedHeaders') ?? '';
    signature = query.get('X-Amz-Signature') ?? '';
    amzDate = query.get('X-Amz-Date') ?? '';
    payload = 'UNSIGNED-PAYLOAD';
    const signedAt = parseAmzDate(amzDate);
    if (signedAt === null || signedAt + Number(query.get('X-Amz-Expires') ?? 0) * 1000 < Date.now()) return 'AccessDenied'; // expired
  } else {
    const match = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(req.headers.authorization ?? '');
    if (!match) return 'AccessDenied'; // anonymous: the bucket is private
    [, credential, signedHeaders, signature] = match as unknown as [string, string, string, string];
    amzDate = (req.headers['x-amz-date'] as string) ?? '';
    payload = (req.headers['x-amz-content-sha256'] as string) ?? 'UNSIGNED-PAYLOAD';
  }
  const [accessKey, date, region, service, terminator] = credential.split('/');
  if (accessKey !== S3_ACCESS_KEY) return 'InvalidAccessKeyId';
  if (region !== REGION || service !== 's3' || terminator !== 'aws4_request' || !amzDate.startsWith(date ?? '-')) return 'SignatureDoesNotMatch';
  const params = [...query.entries()].filter(([key]) => key !== 'X-Amz-Signature').map(([key, value]) => [encode(key), encode(value)] as const);
  params.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  const headers = signedHeaders.split(';').map((name) => `${name}:${String(req.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [req.method, url.pathname, params.map(([key, value]) => `${key}=${value}`).join('&'), headers, signedHeaders, payload].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, `${date}/${region}/s3/aws4_request`, sha256(canonical)].join('\n');
  return hmac(signingKey(date!), toSign).toString('hex') === signature ? null : 'SignatureDoesNotMatch';
}

/** A browser POST upload: the policy's signature, its expiry and every condition, against the fields and the file. */
async function checkPostPolicy(req: IncomingMessage, body: Buffer, path: string): Promise<string | null> {
  const fields: Record<string, string> = {};
  let size = -1;
  await new Promise<void>((resolve, reject) => {
    const parser = busboy({ headers: req.headers });
    parser.on('field', (name, value) => (fields[name.toLowerCase()] = value));
    parser.on('file', (_name, stream) => {
      size = 0;
      stream.on('data', (chunk: Buffer) => (size += chunk.length));
    });
    parser.on('close', resolve);
    parser.on('error', reject);
    parser.end(body);
  });
  const policy = fields.policy ?? '';
  const [accessKey, date] = (fields['x-amz-credential'] ?? '').split('/');
  if (accessKey !== S3_ACCESS_KEY || !date) return 'InvalidAccessKeyId';
  if (hmac(signingKey(date), policy).toString('hex') !== fields['x-amz-signature']) return 'SignatureDoesNotMatch';
  const document = JSON.parse(Buffer.from(policy, 'base64').toString('utf8')) as { expiration: string; conditions: unknown[] };
  if (Date.parse(document.expiration) < Date.now()) return 'AccessDenied';
  const bucket = path.split('/')[1];
  for (const condition of document.conditions) {
    if (Array.isArray(condition)) {
      const [op, name, value] = condition as [string, string | number, string | number];
      if (op === 'content-length-range') {
        if (size < Number(name) || size > Number(value)) return 'EntityTooLarge';
      } else if (op === 'eq' && fields[String(name).slice(1).toLowerCase()] !== value) return 'AccessDenied';
      else if (op === 'starts-with' && !(fields[String(name).slice(1).toLowerCase()] ?? '').startsWith(String(value))) return 'AccessDenied';
    } else {
      for (const [name, value] of Object.entries(condition as Record<string, string>)) {
        const given = name === 'bucket' ? bucket : fields[name.toLowerCase()];
        if (given !== value) return 'AccessDenied';
      }
    }
  }
  return null;
}
