import request from 'supertest';
import type { TestApp } from './app.js';

/** A 1x1 PNG, the smallest real image. */
export const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
/** A GIF header: a real image, but not the PNG a presign declared. */
export const GIF = Buffer.concat([Buffer.from('GIF89a'), Buffer.from([1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0, 0, 0, 0, 0, 0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b])]);
export const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

export interface Part {
  name: string;
  value?: string;
  /** A raw `filename=` / `filename*=` parameter text, to send names a browser would not. */
  filenameParam?: string;
  filename?: string;
  contentType?: string;
  data?: Buffer;
}

/** A multipart/form-data body built by hand, so a test controls every byte of it. */
export function multipart(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = `----confidant-test-${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const filename = part.filenameParam ?? (part.filename !== undefined ? `filename="${part.filename}"` : undefined);
    const disposition = `form-data; name="${part.name}"${filename ? `; ${filename}` : ''}`;
    const head = `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.contentType ? `Content-Type: ${part.contentType}\r\n` : ''}\r\n`;
    chunks.push(Buffer.from(head), part.data ?? Buffer.from(part.value ?? ''), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export function attach(t: Pick<TestApp, 'app'>, auth: string, sessionId: string, file: { data: Buffer; filename?: string; filenameParam?: string; contentType?: string }) {
  const { body, contentType } = multipart([{ name: 'file', data: file.data, filename: file.filename ?? 'file.bin', filenameParam: file.filenameParam, contentType: file.contentType ?? 'application/octet-stream' }]);
  return request(t.app).post(`/api/sessions/${sessionId}/attachments`).set('Authorization', auth).set('Content-Type', contentType).send(body);
}

/** Follows a presign's upload to the local adapter's endpoint: its fields, then the file part. */
export function sendPresignedPost(t: Pick<TestApp, 'app'>, upload: { url: string; fields: Record<string, string> }, data: Buffer, overrides: Record<string, string> = {}) {
  const fields = { ...upload.fields, ...overrides };
  const { body, contentType } = multipart([...Object.entries(fields).map(([name, value]) => ({ name, value })), { name: 'file', filename: 'upload', data, contentType: fields['Content-Type'] }]);
  return request(t.app).post(new URL(upload.url).pathname).set('Content-Type', contentType).send(body);
}

/** Binary bodies come back as Buffers. */
export function binary(res: request.Response, done: (error: Error | null, body: Buffer) => void): void {
  const stream = res as unknown as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
}
