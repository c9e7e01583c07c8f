import type { IncomingHttpHeaders } from 'node:http';
import { leakIn } from './corpus.js';
import { bodyLimitOf, REQUEST_ID, strictJsonOk, type Operation } from './operations.js';

/** Requests, responses and the rules every response must follow. */

export type Role = 'user' | 'counselor' | 'admin';
export type CallerKind = 'anonymous' | Role | 'garbage';
export type GarbageAuth =
  | 'two-spaces'
  | 'tampered-signature'
  | 'tampered-payload'
  | 'truncated'
  | 'alg-none'
  | 'basic'
  | 'bearer-only'
  | 'two-tokens'
  | 'long'
  | 'refresh-like'
  | 'injection'
  | 'random';

export interface ContentTypeCase {
  value?: string;
  /** body-parser reads it as JSON. */
  json: boolean;
  /**
   * `rejected`: refused (415) before the body is read; `undecodable`: a utf-* name iconv does not
   * know, refused (415) once reading starts, after the declared length was checked (413).
   */
  charset?: 'utf8' | 'rejected' | 'undecodable' | 'other';
}

export const CONTENT_TYPES: ContentTypeCase[] = [
  { value: 'application/json', json: true, charset: 'utf8' },
  { value: 'application/json; charset=utf-8', json: true, charset: 'utf8' },
  { value: 'Application/JSON; Charset=UTF-8', json: true, charset: 'utf8' },
  { value: 'application/json; charset="utf-8"', json: true, charset: 'utf8' },
  { value: 'application/vnd.api+json', json: true, charset: 'utf8' },
  { value: 'application/merge-patch+json', json: true, charset: 'utf8' },
  { value: 'application/json; charset=latin1', json: true, charset: 'rejected' },
  { value: 'application/json; charset=iso-8859-1', json: true, charset: 'rejected' },
  { value: 'application/json; charset=utf-42', json: true, charset: 'undecodable' },
  { value: 'application/json; charset=utf-16', json: true, charset: 'other' },
  { value: 'text/plain', json: false },
  { value: 'text/plain; charset=utf-8', json: false },
  { value: 'application/x-www-form-urlencoded', json: false },
  { value: 'multipart/form-data; boundary=----fuzz', json: false },
  { value: 'application/xml', json: false },
  { value: 'application/jsonx', json: false },
  { value: 'json', json: false },
  { value: 'application/json, text/plain', json: false },
  { value: '*/*', json: false },
  { value: undefined, json: false },
];
export const JSON_CONTENT_TYPE = CONTENT_TYPES[0]!;

export interface BodyPlan {
  bytes: Buffer;
  contentType: ContentTypeCase;
  /** Content-Encoding header; `garbage` bodies are not really compressed. */
  encoding?: { value: string; kind: 'garbage' | 'unsupported' };
  chunked: boolean;
  /** The parsed body cannot pass this operation's validation (wrong kind, unknown key...). */
  invalid: boolean;
  label: string;
}

export interface FuzzRequest {
  op: Operation;
  method: string;
  path: string;
  caller: CallerKind;
  garbage?: { kind: GarbageAuth; noise: string };
  headers: Record<string, string>;
  body?: BodyPlan;
  /** Some path, query or body part cannot pass validation. */
  invalidInput: boolean;
  /** Every path parameter is a non-empty segment, so the documented route matches. */
  routeIntact: boolean;
  /** A path segment is not valid percent-encoding. */
  badPercent: boolean;
  /** Bytes of the request line and headers as sent (Node's server refuses more than 16 kB with a 431). */
  headSize?: number;
}

export interface FuzzResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface Expectation {
  statuses: number[];
  code?: string;
  why: string;
}

export const clip = (text: string, max = 240) => (text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text);

export function describeRequest(request: FuzzRequest): string {
  const body = request.body
    ? ` body[${request.body.label}, ${request.body.bytes.length} B, ${request.body.contentType.value ?? 'no content-type'}${
        request.body.encoding ? `, content-encoding ${request.body.encoding.value}` : ''
      }${request.body.chunked ? ', chunked' : ''}]=${clip(JSON.stringify(request.body.bytes.toString('latin1')), 300)}`
    : '';
  const headers = Object.entries(request.headers)
    .map(([name, value]) => `${name}: ${clip(JSON.stringify(value), 80)}`)
    .join('; ');
  const caller = request.garbage ? `garbage token (${request.garbage.kind})` : request.caller;
  return `${request.method} ${clip(request.path, 300)} as ${caller}${headers ? ` headers{${headers}}` : ''}${body}`;
}

/**
 * What the pipeline must answer, where it is certain: body parsing comes first (415 charset,
 * 413, 400 malformed), then a broken token (401), then the route (401 anonymous, 415 wrong
 * content type, 400 invalid input).
 */
export function expectationOf(request: FuzzRequest): Expectation | undefined {
  const { op, body } = request;
  // The CORS middleware answers preflights before bodies or tokens are looked at.
  if (request.method === 'OPTIONS') return undefined;
  if (body && body.bytes.length > 0 && body.contentType.json) {
    const unsupported = { statuses: [415], code: 'UNSUPPORTED_MEDIA_TYPE', why: 'an unsupported JSON charset' };
    if (body.contentType.charset === 'rejected') return unsupported;
    if (body.contentType.charset === 'undecodable' && (body.chunked || body.bytes.length <= bodyLimitOf(op.path))) return unsupported;
    if (body.contentType.charset === 'other') return undefined; // decoded as UTF-16: may or may not parse
    if (body.encoding?.kind === 'unsupported') return { statuses: [415], code: 'UNSUPPORTED_MEDIA_TYPE', why: 'an unknown content encoding' };
    if (body.encoding?.kind === 'garbage') return { statuses: [400], why: 'a body that does not decompress' };
    if (body.bytes.length > bodyLimitOf(op.path)) return { statuses: [413], code: 'PAYLOAD_TOO_LARGE', why: `a body over the ${bodyLimitOf(op.path)} B limit` };
    if (body.contentType.charset === 'utf8' && !strictJsonOk(body.bytes.toString('utf8'))) {
      return { statuses: [400], code: 'MALFORMED_JSON', why: 'a body that is not strict JSON' };
    }
  }
  if (request.caller === 'garbage') return { statuses: [401], code: 'INVALID_TOKEN', why: 'a broken bearer token' };
  if (request.method !== op.method && !(request.method === 'HEAD' && op.method === 'GET')) return undefined;
  if (!request.routeIntact) return undefined;
  if (request.badPercent) return { statuses: [400, 401, 403], why: 'a path parameter that is not valid percent-encoding' };
  if (op.secured && request.caller === 'anonymous') return { statuses: [401], why: 'no token on a protected operation' };
  if (op.body && body && body.bytes.length > 0 && !body.contentType.json) {
    return { statuses: [401, 403, 404, 415], why: 'a body that is not JSON' };
  }
  if (request.invalidInput) return { statuses: [400, 401, 403, 404], why: 'input that cannot pass validation' };
  return undefined;
}

/** Known bugs, tolerated here (counted and reported) and pinned by it.fails tests; none open now. */
export function knownBug(_request: FuzzRequest, _response: FuzzResponse): string | undefined {
  return undefined;
}

/** What is wrong with an answer; `counted` hears of each exact expectation checked. */
export function problemsWith(request: FuzzRequest, response: FuzzResponse, counted: (why: string) => void = () => undefined): string[] {
  const problems: string[] = [];
  const { status } = response;
  if (status >= 500) problems.push(`status ${status}`);
  if (!response.headers['x-request-id']) {
    // Only Node's own 431 for a head over its 16 kB limit may bypass the app.
    if (status === 431 && (request.headSize ?? 0) > 15_000) return [];
    problems.push(`a ${status} without X-Request-Id: the answer did not come from the app (Node refused the request?)`);
  }
  const leak = leakIn(response.text) ?? leakIn(JSON.stringify(response.headers));
  if (leak) problems.push(`the response contains ${leak}`);

  const requestId = response.headers['x-request-id'];
  if (typeof requestId === 'string' && !REQUEST_ID.test(requestId)) problems.push(`X-Request-Id ${JSON.stringify(requestId)} is not a safe id`);
  const sentId = request.headers['X-Request-Id'];
  if (sentId !== undefined && REQUEST_ID.test(sentId) && requestId !== sentId) problems.push('a valid incoming X-Request-Id was not echoed');

  const hasBody = request.method !== 'HEAD' && status !== 204 && status !== 304;
  if (status >= 400 && status < 500 && !(status === 404 && request.method === 'OPTIONS')) {
    const type = String(response.headers['content-type'] ?? '');
    if (!type.startsWith('application/problem+json')) problems.push(`a ${status} with content-type ${JSON.stringify(type)}`);
    if (hasBody) {
      let problem: { code?: unknown; requestId?: unknown; status?: unknown } | undefined;
      try {
        problem = JSON.parse(response.text) as typeof problem;
      } catch {
        problems.push('a 4xx body that is not JSON');
      }
      if (problem) {
        if (typeof problem.code !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(problem.code)) problems.push('a problem without a SCREAMING_SNAKE code');
        if (typeof problem.requestId !== 'string' || problem.requestId !== requestId) problems.push('a problem without the request id');
        if (problem.status !== status) problems.push('a problem whose status differs from the response');
      }
    }
  }

  const expected = expectationOf(request);
  if (expected) {
    counted(expected.why);
    if (!expected.statuses.includes(status)) problems.push(`expected ${expected.statuses.join(' or ')} for ${expected.why}, got ${status}`);
    else if (expected.code && hasBody && !response.text.includes(`"code":"${expected.code}"`)) problems.push(`expected code ${expected.code} for ${expected.why}`);
  }
  return problems;
}
