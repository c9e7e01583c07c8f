import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface LoopbackResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface LoopbackRequest {
  port: number;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  json?: unknown;
  /**
   * The client address to send from (any 127.x.y.z works on Linux). The API keys rate
   * limits by client address, so each test can have a bucket of its own.
   */
  from?: string;
  /** The whole exchange must finish within this, else the promise rejects (a hang is a failure). */
  timeoutMs?: number;
}

/**
 * One HTTP request to 127.0.0.1 on a connection of its own (no keep-alive pool), so a
 * refused or dropped connection shows up as a rejection of exactly this request.
 */
export function loopback(options: LoopbackRequest): Promise<LoopbackResponse> {
  const payload = options.json === undefined ? undefined : Buffer.from(JSON.stringify(options.json));
  const headers: Record<string, string> = { ...options.headers };
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: options.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers,
        agent: false,
        ...(options.from && { localAddress: options.from }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
