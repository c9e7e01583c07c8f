/** Requests to a deployment: one at a time, bounded by a timeout, never following a redirect. */
export interface Probe {
  method: string;
  path: string;
  status: number;
  headers: Headers;
  body: string;
  ms: number;
}

/** A request that could not be made; `message` says why (refused, timed out, DNS...). */
export class ProbeError extends Error {}

export type Outcome = Probe | ProbeError;

const MAX_BODY_CHARS = 64 * 1024;

function parseUrl(input: string, what: string): URL {
  try {
    return new URL(input);
  } catch {
    throw new Error(`not ${what}: ${input}`);
  }
}

/** Normalises and validates a base URL: http(s), no credentials, no query or fragment. */
export function parseBaseUrl(input: string): URL {
  const url = parseUrl(input, 'a URL');
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`the base URL must be http or https: ${input}`);
  if (url.username || url.password) throw new Error('the base URL must not contain credentials');
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** Normalises an origin (`https://app.example.com/` → `https://app.example.com`); throws when it has a path. */
export function parseOrigin(input: string): string {
  const url = parseUrl(input, 'an origin');
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search || url.hash || url.username) {
    throw new Error(`not an origin (scheme://host[:port]): ${input}`);
  }
  return url.origin;
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `timed out after ${timeoutMs} ms`;
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    if (cause instanceof Error) {
      const code = (cause as Error & { code?: string }).code;
      return code && !cause.message.includes(code) ? `${code}: ${cause.message}` : cause.message;
    }
    return error.message;
  }
  return String(error);
}

/** A requester bound to the base URL; a request that cannot be made comes back as a ProbeError. */
export function prober(base: URL, timeoutMs: number) {
  return async function request(method: string, path: string, headers: Record<string, string> = {}): Promise<Outcome> {
    const url = new URL(path.replace(/^\//, ''), base);
    const began = performance.now();
    try {
      const response = await fetch(url, {
        method,
        headers: { Accept: 'application/json', 'User-Agent': 'confidant-security-check', ...headers },
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = (await response.text()).slice(0, MAX_BODY_CHARS);
      return { method, path, status: response.status, headers: response.headers, body, ms: performance.now() - began };
    } catch (error) {
      return new ProbeError(`${method} ${url.href} failed: ${describeFailure(error, timeoutMs)}`);
    }
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export const round = (ms: number) => (ms < 10 ? Math.round(ms * 10) / 10 : Math.round(ms));
export const clip = (text: string, max = 160) => (text.length > max ? `${text.slice(0, max)}…` : text);

export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

