import { Buffer } from 'node:buffer';
import { request as httpRequest, type Agent } from 'node:http';
import { connect } from 'node:net';
import type { FuzzResponse } from './requests.js';

/** Requests over Node's client, and raw sockets for what that client refuses to send. */

/** One request over the keep-alive agent; resolves with the whole answer, rejects on a hang or reset. */
export interface SendOptions {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  chunked?: boolean;
}

export function sendRequest(target: { port: number; agent: Agent; timeoutMs: number }, options: SendOptions): Promise<FuzzResponse> {
  const { port, agent } = target;
  const headers: Record<string, string> = { ...options.headers };
  if (options.body && !options.chunked) headers['Content-Length'] = String(options.body.length);
  if (options.chunked) headers['Transfer-Encoding'] = 'chunked';
  return new Promise((resolve, reject) => {
    let settled = false;
    const req = httpRequest(
      { host: '127.0.0.1', port, method: options.method, path: options.path, headers, agent, signal: AbortSignal.timeout(target.timeoutMs) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => settled || reject(error));
        res.on('end', () => {
          settled = true;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    // The server may answer (413, 415) before it has read a large body; that is not a failure.
    req.on('error', (error) => settled || reject(error));
    if (options.body && options.chunked) {
      const middle = Math.floor(options.body.length / 2);
      req.write(options.body.subarray(0, middle));
      req.end(options.body.subarray(middle));
    } else {
      req.end(options.body);
    }
  });
}


export interface RawResponse {
  status: number;
  head: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes the bytes and collects everything until the server closes (every payload ends with
 * `Connection: close`). The socket is not half-closed: Node aborts a request whose client
 * sent FIN before the answer. A payload that leaves the server waiting for a body is cut
 * after `waitMs`.
 */
export function rawExchange(port: number, payload: Buffer, waitMs: number): Promise<{ responses: RawResponse[]; raw: string; cut: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let cut = false;
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      cut = true;
      socket.destroy();
    }, waitMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined); // a reset after the answer is fine; the answer is checked below
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString('latin1');
      resolve({ responses: parseResponses(raw), raw, cut });
    });
    socket.write(payload);
  });
}

export function parseResponses(raw: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = raw;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.slice(0, end);
    const [statusLine = '', ...lines] = head.split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    rest = rest.slice(end + 4);
    let body = '';
    if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      body = rest.slice(0, length);
      rest = rest.slice(length);
    } else if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        const size = parseInt(rest.slice(0, lineEnd), 16);
        if (!Number.isFinite(size) || lineEnd < 0) break;
        body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
        rest = rest.slice(lineEnd + 4 + size);
        if (size === 0) break;
      }
    }
    responses.push({ status: Number(statusLine.split(' ')[1]), head, headers, body });
  }
  return responses;
}

export const CRLF_HEADERS = ['X-Request-Id', 'User-Agent', 'Authorization', 'Idempotency-Key', 'X-CSRF-Token', 'Cookie', 'Origin', 'Content-Type', 'X-Forwarded-For', 'Accept-Language'];
export const CRLF_VALUES = [
  'abc\r\nX-Injected: yes',
  'abc\r\nSet-Cookie: pwned=yes',
  'abc\rX-Injected: yes',
  'abc\nX-Injected: yes',
  'abc\r\n\r\nGET /api/admin/users HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Injected: yes\r\n\r\n',
  'abc\r\n\tfolded continuation',
  'abc\u0000def',
  'abc\u000bdef',
  'abc\u007fdef',
  '\u00e9t\u00e9 caf\u00e9',
  'abc\r',
  '\r\n',
  'abc%0d%0aX-Injected:%20yes',
  "' OR 1=1 --\r\nX-Injected: yes",
];
/** Extra header lines; `mayWait` when the server may rightly wait for a body that never comes. */
export const RAW_EXTRAS = [
  { text: '', mayWait: false },
  { text: 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', mayWait: true },
  { text: 'Content-Length: 2\r\nContent-Length: 3\r\n', mayWait: true },
  { text: 'Content-Length: -1\r\n', mayWait: false },
  { text: 'Content-Length: abc\r\n', mayWait: false },
  { text: 'Transfer-Encoding: chunked, identity\r\n', mayWait: true },
  { text: 'Content-Length: 20\r\n', mayWait: true },
  { text: 'Host: 127.0.0.1\r\n', mayWait: false },
  { text: 'X-Request-Id: ok\r\n X-Injected: yes\r\n', mayWait: false },
];
