import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogFields, Logger } from '../../src/infra/logger.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, login, type TestUser } from '../helpers/users.js';

/**
 * Fuzzing (docs/DESIGN.md §11: malformed input of every kind on every route: 4xx, never 5xx,
 * never a stack). Every operation of GET /api/openapi.json gets fast-check generated hostile requests
 * (wrong types per field, huge strings, deep nesting, prototype-pollution keys, SQL and NoSQL
 * injection, invalid UTF-8, wrong content types and encodings, odd path ids and query strings,
 * hostile headers) as anonymous, as a user, counselor and admin, and with broken tokens, over a
 * real listening server. A sample of CR/LF header injections goes over raw sockets, because
 * Node's client refuses to send them. Every answer: no 5xx, no stack, SQL or file path, a
 * problem body for every 4xx; afterwards the server is healthy and Object.prototype untouched.
 *
 * The seed is fixed so CI is reproducible; FUZZ_SEED=<int> explores other inputs. A failure
 * names the operation, the seed and the shrunk request.
 */

const DEFAULT_SEED = 20_240_801;
const SEED = parseSeed(process.env.FUZZ_SEED);
/** Property runs over all operations (one request each), plus the raw-socket sample. */
const TARGET_RUNS = 5_300;
const RAW_SOCKET_RUNS = 160;
const CONCURRENCY = 8;
const REQUEST_TIMEOUT_MS = 20_000;

const ENV = { RATE_LIMIT_GLOBAL_MAX: '100000000', RATE_LIMIT_WRITE_MAX: '100000000', RATE_LIMIT_AUTH_MAX: '100000000' };
/** The body limits of src/app.ts (SMALLER_BODY_LIMITS) and the default BODY_LIMIT. */
const BODY_LIMITS: Array<[string, number]> = [
  ['/api/auth', 16 * 1024],
  ['/api/users', 16 * 1024],
  ['/api/admin', 16 * 1024],
  ['/api/sessions', 64 * 1024],
  ['/api/organizations', 16 * 1024],
  ['/api/invitations', 16 * 1024],
];
const DEFAULT_BODY_LIMIT = 1024 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$|^0{8}-0{4}-0{4}-0{4}-0{12}$|^f{8}-f{4}-f{4}-f{4}-f{12}$/i;

function parseSeed(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_SEED;
  const seed = Number(value);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got ${JSON.stringify(value)}`);
  return seed | 0;
}

// ---------------------------------------------------------------------------------------------
// What must never appear in a response. The hostile corpus below is chosen not to match these,
// so an echo of stored fuzz input (a name, a topic, a user agent) is never a false alarm.
// ---------------------------------------------------------------------------------------------

const LEAKS: Array<[string, RegExp]> = [
  ['a stack frame', /\bat (?:async )?\S*\s*\(?(?:\/|file:|node:)[^)\s]*:\d+:\d+/],
  ['a stack frame', /(?:\\n|\n)\s+at \S/],
  ['a source position', /\.(?:ts|js|mjs|cjs):\d+(?::\d+)?\b/],
  ['SQL', /\b(?:SELECT|INSERT INTO|UPDATE \S+ SET|DELETE FROM)\s/],
  ['the SQLite engine', /sqlite/i],
  ['Sequelize', /Sequelize/],
  ['a PostgreSQL detail', /(?<![\w.-])pg_[a-z]|syntax error at or near|violates \S+ constraint|relation "[^"]*" does not exist/],
  ['an exception name', /\b(?:TypeError|ReferenceError|SyntaxError|RangeError|URIError|EvalError)\b/],
  ['an exception message', /Unexpected token|in JSON at position|Cannot read propert|is not a function|is not defined|Maximum call stack/],
  ['a file path', /\/(?:work|home|root|usr|tmp|var|opt|srv|app)\/|\/(?:src|dist)\/[\w.-]+\.[cm]?[jt]s|node_modules|file:\/\//],
  ['the working directory', new RegExp(escapeRegExp(process.cwd()))],
  ['the temporary directory', new RegExp(`${escapeRegExp(tmpdir())}/`)],
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function leakIn(text: string): string | undefined {
  for (const [what, pattern] of LEAKS) {
    const match = pattern.exec(text);
    if (match) return `${what} (${JSON.stringify(text.slice(Math.max(0, match.index - 40), match.index + 80))})`;
  }
  return undefined;
}

const INJECTIONS = [
  "' OR 1=1 --",
  "' OR '1'='1",
  '" OR ""="',
  "admin'--",
  "'; DROP TABLE users;",
  '; DROP TABLE users;',
  '1; DROP TABLE counseling_sessions --',
  "' union select null, null --",
  "1' and sleep(5)#",
  "'; waitfor delay '0:0:5' --",
  "' || (select 1) || '",
  "%' and 1=0 union select 1 --",
  "\\'; --",
  '1 or 1=1',
  '{"$gt": ""}',
  '{"$ne": null}',
  '{"$where": "sleep(1000)"}',
  '{"$regex": ".*"}',
  "'; return true; var x='",
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '{{7*7}}',
  '${7*7}',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%00',
  '\u0000',
  '\r\nX-Injected: 1',
  '\u202eevil\u202c',
  '\ufeff',
  '\ud800',
  '\udc00\ud800',
  'null',
  'undefined',
  'NaN',
  '[object Object]',
  '__proto__',
  'constructor',
  'prototype',
  'ＳＥＬＥＣＴ',
  '𝕏𝕏𝕏',
  'a\u0301',
  '😀',
  '',
  ' ',
];

/** Pollution attempts as own keys in raw JSON text (JSON.stringify could not write `__proto__`). */
const POLLUTION_MEMBERS = [
  '"__proto__":{"polluted":"yes","isAdmin":true,"role":"admin"}',
  '"constructor":{"prototype":{"polluted":"yes"}}',
  '"prototype":{"polluted":"yes"}',
  '"__proto__":null',
  '"__proto__":[]',
  '"$where":"sleep(100)"',
  '"$gt":""',
  '"isAdmin":true',
  '"userId":"00000000-0000-4000-8000-000000000000"',
  '"toString":"x"',
  '"hasOwnProperty":1',
];

const nest = (open: string, close: string, inner: string, depth: number) => open.repeat(depth) + inner + close.repeat(depth);
/** Deep nesting, sized against the limits: 10 kB fits 16 kB, 30 kB fits 64 kB, 95 kB and 200 kB fit only 1 MB. */
const DEEP = {
  arrays5k: nest('[', ']', '', 5_000),
  objects5k: nest('{"a":', '}', '1', 5_000),
  wideObjects5k: nest('{"aaaaaaaaaaaaa":', '}', '1', 5_000),
  arrays100k: nest('[', ']', '', 100_000),
};
const HUGE = 100_000;
const OVER_DEFAULT_LIMIT = 'x'.repeat(DEFAULT_BODY_LIMIT + 1_000);

const MALFORMED_JSON = [
  '{',
  '}',
  '{"a":',
  '{"a":1,}',
  "{'a':1}",
  '{a:1}',
  '{"a":NaN}',
  '{"a":Infinity}',
  '{"a":undefined}',
  '{"a":01}',
  '{"a":.5}',
  '{"a":"\\x41"}',
  '{"a":"unterminated}',
  '{"a":1}{"b":2}',
  '{"a":1} x',
  '[1,2',
  '/* comment */ {}',
  '{"a":1} // comment',
  'nope',
  '\u0000{}',
  '"just a string"',
  '12345',
  'true',
  'null',
  '\ufeff{}',
];

// ---------------------------------------------------------------------------------------------
// The OpenAPI document, reduced to what the generators need.
// ---------------------------------------------------------------------------------------------

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  items?: JsonSchema;
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: JsonSchema;
}

interface OpenApiOperation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  security?: unknown[];
}

interface Operation {
  key: string;
  method: string;
  /** OpenAPI form: `/api/sessions/{id}`. */
  path: string;
  pathParams: Parameter[];
  query: Parameter[];
  headerParams: Parameter[];
  body?: JsonSchema;
  secured: boolean;
  /** Ends the caller's own session(s) when it succeeds: run with disposable callers. */
  disruptive: boolean;
}

const DISRUPTIVE = new Set(['POST /api/auth/logout', 'POST /api/auth/logout-all', 'POST /api/auth/change-password', 'DELETE /api/users/me']);

function operationsOf(document: { paths: Record<string, Record<string, OpenApiOperation>> }): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const parameters = operation.parameters ?? [];
      const key = `${method.toUpperCase()} ${path}`;
      operations.push({
        key,
        method: method.toUpperCase(),
        path,
        pathParams: parameters.filter((parameter) => parameter.in === 'path'),
        query: parameters.filter((parameter) => parameter.in === 'query'),
        headerParams: parameters.filter((parameter) => parameter.in === 'header'),
        body: operation.requestBody?.content['application/json']?.schema,
        secured: Array.isArray(operation.security) && operation.security.length > 0,
        disruptive: DISRUPTIVE.has(key),
      });
    }
  }
  return operations;
}

function bodyLimitOf(path: string): number {
  return BODY_LIMITS.find(([prefix]) => path === prefix || path.startsWith(`${prefix}/`))?.[1] ?? DEFAULT_BODY_LIMIT;
}

type JsonKind = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

function kindOf(value: unknown): JsonKind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as JsonKind;
}

/** The JSON kinds a schema can accept, or undefined when it accepts anything. */
function kindsOf(schema: JsonSchema): Set<JsonKind> | undefined {
  if (schema.const !== undefined) return new Set([kindOf(schema.const)]);
  if (schema.enum) return new Set(schema.enum.map(kindOf));
  const union = schema.anyOf ?? schema.oneOf;
  if (union) {
    const kinds = new Set<JsonKind>();
    for (const member of union) {
      const memberKinds = kindsOf(member);
      if (!memberKinds) return undefined;
      for (const kind of memberKinds) kinds.add(kind);
    }
    return kinds;
  }
  if (schema.type === undefined) return undefined;
  const kinds = new Set<JsonKind>((Array.isArray(schema.type) ? schema.type : [schema.type]) as JsonKind[]);
  if (kinds.has('number')) kinds.add('integer');
  return kinds;
}

/** Whether this JSON text, as a value for this schema, cannot pass validation whatever its content. */
function wrongKind(schema: JsonSchema, jsonText: string): boolean {
  const kinds = kindsOf(schema);
  if (!kinds) return false;
  try {
    const value: unknown = JSON.parse(jsonText);
    const kind = kindOf(value);
    return !kinds.has(kind) && !(kind === 'integer' && kinds.has('number'));
  } catch {
    return false;
  }
}

/** What body-parser's strict JSON parser accepts (empty bodies become `{}`). */
function strictJsonOk(decoded: string): boolean {
  const text = decoded.replace(/^\ufeff/, ''); // iconv-lite drops a leading BOM
  if (text.length === 0) return true;
  const first = /^[ \t\n\r]*(.)/s.exec(text)?.[1];
  if (first !== '{' && first !== '[') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Requests, responses and the rules every response must follow.
// ---------------------------------------------------------------------------------------------

type Role = 'user' | 'counselor' | 'admin';
type CallerKind = 'anonymous' | Role | 'garbage';
type GarbageAuth =
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

interface ContentTypeCase {
  value?: string;
  /** body-parser reads it as JSON. */
  json: boolean;
  /**
   * `rejected`: refused (415) before the body is read; `undecodable`: a utf-* name iconv does not
   * know, refused (415) once reading starts, after the declared length was checked (413).
   */
  charset?: 'utf8' | 'rejected' | 'undecodable' | 'other';
}

const CONTENT_TYPES: ContentTypeCase[] = [
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
const JSON_CONTENT_TYPE = CONTENT_TYPES[0]!;

interface BodyPlan {
  bytes: Buffer;
  contentType: ContentTypeCase;
  /** Content-Encoding header; `garbage` bodies are not really compressed. */
  encoding?: { value: string; kind: 'garbage' | 'unsupported' };
  chunked: boolean;
  /** The parsed body cannot pass this operation's validation (wrong kind, unknown key...). */
  invalid: boolean;
  label: string;
}

interface FuzzRequest {
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

interface FuzzResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

interface Expectation {
  statuses: number[];
  code?: string;
  why: string;
}

const clip = (text: string, max = 240) => (text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text);

function describeRequest(request: FuzzRequest): string {
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
function expectationOf(request: FuzzRequest): Expectation | undefined {
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
function knownBug(_request: FuzzRequest, _response: FuzzResponse): string | undefined {
  return undefined;
}

function problemsWith(request: FuzzRequest, response: FuzzResponse): string[] {
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
    bump(stats.expectations, expected.why);
    if (!expected.statuses.includes(status)) problems.push(`expected ${expected.statuses.join(' or ')} for ${expected.why}, got ${status}`);
    else if (expected.code && hasBody && !response.text.includes(`"code":"${expected.code}"`)) problems.push(`expected code ${expected.code} for ${expected.why}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The app, its callers and the ids they can aim at.
// ---------------------------------------------------------------------------------------------

class Caller {
  token = '';
  private stale = true;
  private renewing?: Promise<void>;

  constructor(
    private readonly t: TestApp,
    readonly user: TestUser,
    readonly disposable: boolean,
  ) {}

  /** A valid access token; a disposable caller whose session was ended signs in again. */
  async authorization(): Promise<string> {
    if (this.stale) {
      this.renewing ??= login(this.t, this.user).then(({ accessToken }) => {
        stats.renewals += 1;
        this.token = accessToken;
        this.stale = false;
        this.renewing = undefined;
      });
      await this.renewing;
    }
    return `Bearer ${this.token}`;
  }

  markStale(): void {
    this.stale = true;
  }
}

interface CapturedLog {
  level: string;
  message: string;
  fields: LogFields;
}

const captured: CapturedLog[] = [];
const capturingLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message, fields = {}) => captured.push({ level: 'warn', message, fields }),
  error: (message, fields = {}) => captured.push({ level: 'error', message, fields }),
};

let t: TestApp;
let server: Server;
let port: number;
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
let operations: Operation[] = [];
const stable = {} as Record<Role, Caller>;
const disposable = {} as Record<Role, Caller>;
let otherUser: Caller;
const pools = { session: [] as string[], deletableSession: [] as string[], authSession: [] as string[], targetUser: [] as string[], anyUser: [] as string[] };
let emails: string[] = [];

const stats = {
  requests: 0,
  byStatus: new Map<number, number>(),
  knownBugs: new Map<string, number>(),
  knownBugRequestIds: new Set<string>(),
  stableTokenLost: 0,
  renewals: 0,
  /** Responses held to an exact expectation, by reason. */
  expectations: new Map<string, number>(),
  /** Raw-socket answers: by the app or by Node's parser. */
  raw: new Map<string, number>(),
  durationMs: 0,
};

const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

const prototypeKeysBefore = {
  object: Object.getOwnPropertyNames(Object.prototype).sort(),
  array: Object.getOwnPropertyNames(Array.prototype).sort(),
  function: Object.getOwnPropertyNames(Function.prototype).sort(),
  string: Object.getOwnPropertyNames(String.prototype).sort(),
};

beforeAll(async () => {
  t = await createTestApp({ env: ENV, deps: { logger: capturingLogger } });
  const make = async (role: Role, isDisposable: boolean) => {
    const caller = new Caller(t, await createUser(t, { role }), isDisposable);
    await caller.authorization();
    return caller;
  };
  for (const role of ['user', 'counselor', 'admin'] as const) {
    stable[role] = await make(role, false);
    disposable[role] = await make(role, true);
  }
  otherUser = await make('user', false);

  // Counseling sessions of the stable user (with the stable counselor) and of another user.
  const { CounselingSession } = t.context.models;
  const now = Date.now();
  const sessionOf = async (owner: Caller, status: 'active' | 'paused' | 'ended') => {
    const startedAt = new Date(now - 3_600_000);
    const row = await CounselingSession.create({
      userId: owner.user.id,
      counselorId: owner === otherUser ? null : stable.counselor.user.id,
      topic: 'fuzz',
      startedAt,
      status,
      lastResumedAt: status === 'active' ? new Date(now - 60_000) : null,
      endedAt: status === 'ended' ? new Date(now - 1_000) : null,
    });
    return row.id;
  };
  for (const status of ['active', 'active', 'active', 'paused', 'paused', 'ended', 'ended'] as const) {
    pools.session.push(await sessionOf(stable.user, status));
    pools.deletableSession.push(await sessionOf(stable.user, status));
  }
  for (const status of ['active', 'ended'] as const) {
    pools.session.push(await sessionOf(otherUser, status));
    pools.deletableSession.push(await sessionOf(otherUser, status));
  }
  // Extra login sessions of the stable callers: revocable without ending the tokens in use.
  for (const caller of [stable.user, stable.counselor, stable.admin, otherUser]) {
    pools.authSession.push((await login(t, caller.user)).session.id);
  }
  for (let index = 0; index < 3; index += 1) pools.targetUser.push((await createUser(t, { role: index === 2 ? 'counselor' : 'user' })).id);
  pools.anyUser = [...Object.values(stable).map((caller) => caller.user.id), ...pools.targetUser];
  // Emails the fuzzer may use: never the disposable callers' (failed logins would throttle their renewal).
  emails = [stable.user.user.email, stable.counselor.user.email, stable.admin.user.email, otherUser.user.email];

  server = t.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  port = (server.address() as AddressInfo).port;

  const document = await send({ method: 'GET', path: '/api/openapi.json', headers: {} });
  expect(document.status).toBe(200);
  operations = operationsOf(JSON.parse(document.text) as { paths: Record<string, Record<string, OpenApiOperation>> });
});

afterAll(async () => {
  agent.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server?.closeAllConnections();
  await t?.close();
});

/** One request over the keep-alive agent; resolves with the whole answer, rejects on a hang or reset. */
function send(options: { method: string; path: string; headers: Record<string, string>; body?: Buffer; chunked?: boolean }): Promise<FuzzResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body && !options.chunked) headers['Content-Length'] = String(options.body.length);
  if (options.chunked) headers['Transfer-Encoding'] = 'chunked';
  return new Promise((resolve, reject) => {
    let settled = false;
    const req = httpRequest(
      { host: '127.0.0.1', port, method: options.method, path: options.path, headers, agent, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
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

// ---------------------------------------------------------------------------------------------
// Generators.
// ---------------------------------------------------------------------------------------------

/** Percent-encodes the UTF-8 bytes of any string (lone surrogates included) outside the unreserved set. */
function pct(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Header values as Node will send them: UTF-8 bytes as latin1, without the bytes it refuses (CR, LF, NUL...). */
function headerSafe(text: string): string {
  return Buffer.from(text.slice(0, 2_000), 'utf8')
    .toString('latin1')
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, '?')
    .trim();
}

const injection = fc.constantFrom(...INJECTIONS);
const shortText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ maxLength: 40, unit: 'grapheme' }),
  fc.string({ maxLength: 20, unit: 'binary' }),
);
const hostileString = fc.oneof({ weight: 4, arbitrary: injection }, { weight: 3, arbitrary: shortText }, { weight: 1, arbitrary: fc.constantFrom(201, 1_025, 2_049, 10_001).map((n) => 'x'.repeat(n)) });

/** A JSON text that is hostile as the value of any field. */
const hostileJsonValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('null', 'true', 'false', '0', '-1', '1.5', '-0', '1e309', '-1e309', '9007199254740993', '1e-400', '[]', '{}', '[null]', '[[]]', '[{}]', '""', '" "') },
  { weight: 2, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map((value) => JSON.stringify(value)) },
  { weight: 2, arbitrary: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }).map((value) => JSON.stringify(value)) },
  { weight: 2, arbitrary: fc.constantFrom('{"$gt":""}', '{"$ne":null}', '{"$regex":".*"}', '{"$where":"sleep(1000)"}', '{"$in":["admin"]}', '[{"$gt":""}]') },
  { weight: 2, arbitrary: fc.constantFrom(...POLLUTION_MEMBERS).map((member) => `{${member}}`) },
  { weight: 5, arbitrary: hostileString.map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.constantFrom('"\\u0000"', '"\\ud800"', '"\\udfff\\ud800"', '"\\u202e"', '"a\\nb"', '"\\t"', '"\\u007f"') },
  { weight: 1, arbitrary: fc.constantFrom(DEEP.arrays5k, `[${DEEP.objects5k}]`) },
);

function validValue(name: string, schema: JsonSchema): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return fc.oneof(...union.map((member) => validValue(name, member)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000, max: schema.maximum ?? 1_000 });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1_000, max: schema.maximum ?? 1_000, noNaN: true });
    case 'object': {
      const properties = schema.properties ?? {};
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, property] of Object.entries(properties)) record[key] = validValue(key, property);
      return fc.record(record, { requiredKeys: schema.required ?? [] });
    }
    case 'string':
      break;
    default:
      return fc.jsonValue({ maxDepth: 1 });
  }
  if (schema.format === 'uuid') {
    const ids = name === 'counselorId' ? [stable.counselor.user.id, ...pools.targetUser] : pools.anyUser;
    return fc.oneof(fc.constantFrom(...ids), fc.uuid());
  }
  if (schema.format === 'date-time') return fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date(), noInvalidDate: true }).map((date) => date.toISOString());
  if (schema.format === 'uri') return fc.constantFrom('https://example.com/avatar.png', 'https://cdn.example.org/a/b.jpg');
  if (schema.pattern === '^[A-Za-z0-9_-]{43}$') return fc.base64String({ minLength: 44, maxLength: 44 }).map((text) => text.slice(0, 43).replace(/\+/g, '-').replace(/\//g, '_').replace(/=/g, 'A'));
  if (name === 'email') return fc.oneof(fc.constantFrom(...emails, 'nobody@example.com'), fc.emailAddress());
  if (/password/i.test(name)) return fc.constantFrom('correct-horse-battery-staple-42', 'plum-thunder-okapi-visor-88', 'short');
  if (name === 'language') return fc.constantFrom('en', 'fr', 'pt-BR');
  if (name === 'timezone') return fc.constantFrom('UTC', 'Europe/Paris', 'America/New_York');
  if (name === 'refreshToken') return fc.uuid().map((id) => `${id}.1.${'A'.repeat(43)}`);
  const minLength = Math.max(schema.minLength ?? 0, 1);
  return fc.string({ minLength, maxLength: Math.max(minLength, Math.min(schema.maxLength ?? 40, 40)) });
}

interface FieldChoice {
  key: string;
  text?: string;
  invalid: boolean;
}

/** One field: absent, valid, or hostile (then certainly invalid when its JSON kind is wrong). */
function fieldArb(key: string, schema: JsonSchema, required: boolean): fc.Arbitrary<FieldChoice> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant<FieldChoice>({ key, invalid: required }) },
    { weight: 2, arbitrary: validValue(key, schema).map<FieldChoice>((value) => ({ key, text: JSON.stringify(value), invalid: false })) },
    { weight: 3, arbitrary: hostileJsonValue.map<FieldChoice>((text) => ({ key, text, invalid: wrongKind(schema, text) })) },
  );
}

/** An object for the body schema (a oneOf picks a branch), with hostile fields and extra members, as raw JSON text. */
function schemaObjectArb(schema: JsonSchema): fc.Arbitrary<{ text: string; invalid: boolean }> {
  const branches = schema.oneOf ?? schema.anyOf ?? [schema];
  return fc.oneof(
    ...branches.map((branch) => {
      const properties = branch.properties ?? {};
      const required = new Set(branch.required ?? []);
      const strict = branch.additionalProperties === false;
      return fc
        .record({
          fields: fc.tuple(...Object.entries(properties).map(([key, property]) => fieldArb(key, property, required.has(key)))),
          extras: fc.subarray(POLLUTION_MEMBERS, { maxLength: 2 }),
          duplicate: fc.boolean(),
        })
        .map(({ fields, extras, duplicate }) => {
          const members = fields.filter((field) => field.text !== undefined).map((field) => `${JSON.stringify(field.key)}:${field.text}`);
          const unknownExtras = extras.filter((member) => !Object.hasOwn(properties, /^"([^"]*)"/.exec(member)![1]!));
          members.push(...extras);
          // A duplicate key: the last one wins in JSON.parse, so it decides that field's validity.
          const first = duplicate ? fields.find((field) => field.text !== undefined) : undefined;
          if (first) members.push(`${JSON.stringify(first.key)}:"xxx"`);
          const invalid =
            fields.some((field) => field !== first && field.invalid) || (strict && unknownExtras.length > 0) || (first !== undefined && wrongKind(properties[first.key]!, '"xxx"'));
          return { text: `{${members.join(',')}}`, invalid };
        });
    }),
  );
}

/** A text of exactly `size` bytes: `{"<key>":"xxx…"}`. */
function sizedBody(key: string, size: number): string {
  const shell = `{${JSON.stringify(key)}:""}`.length;
  return `{${JSON.stringify(key)}:"${'x'.repeat(Math.max(0, size - shell))}"}`;
}

/**
 * Invalid UTF-8 outside strings breaks the JSON (400); inside a string it decodes to U+FFFD and
 * may well be valid, so only an unknown key counts as certainly invalid.
 */
function invalidUtf8Bodies(key: string, strict: boolean): Array<{ bytes: Buffer; invalid: boolean }> {
  const ascii = (text: string) => Buffer.from(text, 'latin1');
  const inString = (bytes: number[]) => ({ bytes: Buffer.concat([ascii(`{"${key}":"`), Buffer.from(bytes), ascii('"}')]), invalid: false });
  return [
    { bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), ascii(`{"${key}":"x"}`)]), invalid: false },
    inString([0xff, 0xfe, 0xfd]),
    inString([0xc3, 0x28]),
    inString([0xc0, 0xaf]),
    inString([0xed, 0xa0, 0x80]),
    inString([0xf8, 0x88, 0x80, 0x80, 0x80]),
    { bytes: Buffer.concat([ascii('{"'), Buffer.from([0xff]), ascii('":1}')]), invalid: strict },
    { bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), ascii('{}')]), invalid: false },
    { bytes: Buffer.from(`{"${key}":"x"}`, 'utf16le'), invalid: false },
    { bytes: Buffer.from([0xff, 0xfe, 0x00, 0x00]), invalid: false },
  ];
}

function bodyArb(op: Operation): fc.Arbitrary<BodyPlan | undefined> {
  const schema = op.body;
  const firstKey = Object.keys(schema?.properties ?? schema?.oneOf?.[0]?.properties ?? {})[0] ?? 'a';
  const limit = bodyLimitOf(op.path);
  const jsonPlan = (label: string, text: string | Buffer, invalid: boolean): BodyPlan => ({
    bytes: typeof text === 'string' ? Buffer.from(text, 'utf8') : text,
    contentType: JSON_CONTENT_TYPE,
    chunked: false,
    invalid,
    label,
  });
  // Against a strict object schema (every body here) these shapes cannot pass validation.
  const branches = schema ? (schema.oneOf ?? schema.anyOf ?? [schema]) : [];
  const anyInvalid = branches.length > 0 && branches.every((branch) => branch.additionalProperties === false);
  const objectArb = schema ? schemaObjectArb(schema) : fc.constant({ text: '{"a":1}', invalid: false });
  const modes: Array<fc.WeightedArbitrary<BodyPlan | undefined>> = [
    { weight: schema ? 2 : 6, arbitrary: fc.constant(undefined) },
    { weight: schema ? 10 : 1, arbitrary: objectArb.map((object) => jsonPlan('fields', object.text, object.invalid)) },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom('[]', '[{}]', '[[]]', '{"__proto__":{"polluted":"yes"}}', '{"constructor":{"prototype":{"polluted":"yes"}}}', '{"prototype":{"polluted":"yes"}}', '{"__proto__":null}', '{"":1}')
        .map((text) => jsonPlan('top-level', text, anyInvalid)),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        jsonPlan('5,000 nested arrays', DEEP.arrays5k, anyInvalid),
        jsonPlan('5,000 nested objects', DEEP.objects5k, anyInvalid),
        jsonPlan('5,000 nested wide objects', DEEP.wideObjects5k, anyInvalid),
        jsonPlan('100,000 nested arrays', DEEP.arrays100k, anyInvalid),
        jsonPlan('5,000 nested arrays in a field', `{${JSON.stringify(firstKey)}:${DEEP.arrays5k}}`, anyInvalid && wrongKind(fieldSchema(schema, firstKey), '[]')),
        jsonPlan('5,000 nested objects in a field', `{${JSON.stringify(firstKey)}:${DEEP.objects5k}}`, anyInvalid && wrongKind(fieldSchema(schema, firstKey), '{}')),
      ),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ char: fc.constantFrom('x', 'é', '𝕏', '\\u0000', '\\"', ' '), size: fc.constantFrom(HUGE, limit - 100, limit, limit + 1) })
        .map(({ char, size }) =>
          size === HUGE
            ? jsonPlan('huge string', `{${JSON.stringify(firstKey)}:"${char.repeat(Math.ceil(HUGE / char.length))}"}`, anyInvalid && rejectsLongString(fieldSchema(schema, firstKey), HUGE / 6))
            : jsonPlan(`sized ${size} B`, sizedBody(firstKey, size), anyInvalid && rejectsLongString(fieldSchema(schema, firstKey), size - 100)),
        ),
    },
    // Malformed is a 400 before any validation; '\ufeff{}' is the one that parses (the BOM is dropped).
    { weight: 2, arbitrary: fc.constantFrom(...MALFORMED_JSON).map((text) => jsonPlan('malformed', text, false)) },
    {
      weight: 1,
      arbitrary: fc.record({ object: objectArb, cut: fc.nat() }).map(({ object, cut }) => jsonPlan('truncated', object.text.slice(0, object.text.length > 1 ? 1 + (cut % (object.text.length - 1)) : 1), true)),
    },
    { weight: 2, arbitrary: fc.constantFrom(...invalidUtf8Bodies(firstKey, anyInvalid)).map(({ bytes, invalid }) => jsonPlan('invalid UTF-8', bytes, invalid)) },
    {
      weight: 3,
      arbitrary: fc.record({ contentType: fc.constantFrom(...CONTENT_TYPES.slice(1)), object: objectArb, form: fc.boolean() }).map(({ contentType, object, form }) => ({
        bytes: Buffer.from(form && !contentType.json ? `${firstKey}=${pct("' OR 1=1 --")}&__proto__[polluted]=yes` : object.text, 'utf8'),
        contentType,
        chunked: false,
        invalid: object.invalid,
        label: 'content type',
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ encoding: fc.constantFrom('gzip', 'deflate', 'br', 'x-unknown', 'compress'), object: objectArb })
        .map(({ encoding, object }) => ({
          ...jsonPlan('content encoding', object.text, object.invalid),
          encoding: { value: encoding, kind: ['gzip', 'deflate', 'br'].includes(encoding) ? ('garbage' as const) : ('unsupported' as const) },
        })),
    },
    { weight: 1, arbitrary: objectArb.map((object) => ({ ...jsonPlan('chunked', object.text, object.invalid), chunked: true })) },
    { weight: 1, arbitrary: fc.constant(jsonPlan('empty', '', false)) },
  ];
  if (limit === DEFAULT_BODY_LIMIT) {
    modes.push({ weight: 1, arbitrary: fc.constant(jsonPlan('over 1 MB', `{"a":"${OVER_DEFAULT_LIMIT}"}`, anyInvalid)) });
  }
  return fc.oneof(...modes);
}

function fieldSchema(schema: JsonSchema | undefined, key: string): JsonSchema {
  return schema?.properties?.[key] ?? schema?.oneOf?.[0]?.properties?.[key] ?? {};
}

/** Whether no string of this length can be valid for the field (not a string, a length limit, a format, a fixed value). */
function rejectsLongString(schema: JsonSchema, length: number): boolean {
  if (wrongKind(schema, '""')) return true;
  if (schema.anyOf || schema.oneOf) return false;
  if (schema.const !== undefined || schema.enum) return true;
  return (schema.maxLength ?? Infinity) < length || schema.format === 'uuid' || schema.format === 'date-time' || /\{\d+\}\$$/.test(schema.pattern ?? '');
}

type IdKind = keyof typeof pools;

function idKindOf(op: Operation): IdKind {
  if (op.path.startsWith('/api/auth/sessions/')) return 'authSession';
  if (op.path.startsWith('/api/admin/users/')) return 'targetUser';
  if (op.key === 'DELETE /api/sessions/{id}') return 'deletableSession';
  return 'session';
}

interface Segment {
  text: string;
  invalid: boolean;
  badPercent: boolean;
}

const RAW_SEGMENTS = ['%00', '%', '%zz', '%E0%A4%A', '%C0%AE', '%u0041', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', '..', '.', 'a%2Fb', ';', ';jsessionid=1', '%0d%0aX-Injected:%201', '%252e', '%%', '~', '*', '$gt', '%7B%22%24gt%22%3A%22%22%7D'];

function isBadPercent(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return false;
  } catch {
    return true;
  }
}

function segmentArb(op: Operation): fc.Arbitrary<Segment> {
  const encoded = (text: string): Segment => ({ text: pct(text), invalid: !UUID.test(text), badPercent: false });
  const raw = (text: string): Segment => {
    const badPercent = isBadPercent(text);
    return { text, invalid: badPercent || !UUID.test(decodeURIComponent(text)), badPercent };
  };
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...pools[idKindOf(op)]).map(encoded) },
    { weight: 2, arbitrary: fc.uuid().map(encoded) },
    { weight: 1, arbitrary: fc.uuid().map((id) => encoded(id.toUpperCase())) },
    {
      weight: 2,
      arbitrary: fc.uuid().chain((id) =>
        fc.constantFrom(`{${id}}`, id.replace(/-/g, ''), `${id}0`, id.slice(1), `${id.slice(0, 14)}9${id.slice(15)}`, `${id.slice(0, 19)}c${id.slice(20)}`, `${id} `, `${id}%00`, `urn:uuid:${id}`, `${id},${id}`).map((text) => (text.includes('%') ? raw(text) : encoded(text))),
      ),
    },
    { weight: 2, arbitrary: hostileString.map((text) => encoded(text.slice(0, 1_500))) },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_SEGMENTS).map(raw) },
    { weight: 1, arbitrary: fc.constantFrom(300, 1_000, 4_000).map((n) => encoded('9'.repeat(n))) },
    { weight: 1, arbitrary: fc.integer().map((n) => encoded(String(n))) },
  );
}

interface QueryPlan {
  text: string;
  invalid: boolean;
}

function queryValueArb(parameter: Parameter): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 2, arbitrary: validValue(parameter.name, parameter.schema).map((value) => pct(String(value))) },
    {
      weight: 3,
      arbitrary: fc
        .constantFrom('', ' ', 'abc', '-1', '0', '1.5', '1e400', 'NaN', 'Infinity', '0x10', '1_000', 'null', 'undefined', 'true', '[]', '{}', '[object Object]', '2024-02-30T00:00:00Z', '9999-12-31T23:59:59Z')
        .map(pct),
    },
    { weight: 3, arbitrary: hostileString.map((text) => pct(text.slice(0, 500))) },
    { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%E0%A4%A', '%00', '+', '%2B', '%26x%3D1') },
  );
}

function queryArb(op: Operation): fc.Arbitrary<QueryPlan> {
  const perParameter = op.query.map((parameter) =>
    fc.oneof(
      { weight: 3, arbitrary: fc.constant<QueryPlan>({ text: '', invalid: false }) },
      { weight: 5, arbitrary: queryValueArb(parameter).map<QueryPlan>((value) => ({ text: `${parameter.name}=${value}`, invalid: false })) },
      { weight: 1, arbitrary: fc.tuple(queryValueArb(parameter), queryValueArb(parameter)).map<QueryPlan>(([a, b]) => ({ text: `${parameter.name}=${a}&${parameter.name}=${b}`, invalid: false })) },
      { weight: 1, arbitrary: fc.constantFrom('[$gt]=', '[$ne]=x', '[]=1', '[0]=1', '.x=1').map<QueryPlan>((suffix) => ({ text: `${parameter.name}${suffix}`, invalid: true })) },
    ),
  );
  const extraKeys = ['__proto__', 'constructor', 'prototype', '__proto__[polluted]', 'constructor[prototype][polluted]', '$where', 'toString', 'hasOwnProperty', 'userId', 'role'];
  const documented = new Set(op.query.map((parameter) => parameter.name));
  const extra = fc.oneof(
    { weight: 4, arbitrary: fc.constant<QueryPlan>({ text: '', invalid: false }) },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.constantFrom(...extraKeys), hostileString).map<QueryPlan>(([key, value]) => ({
        text: `${pct(key).replace(/%5B/g, '[').replace(/%5D/g, ']')}=${pct(value.slice(0, 300))}`,
        invalid: op.query.length > 0 && !documented.has(key),
      })),
    },
    { weight: 1, arbitrary: fc.tuple(shortText, shortText).map<QueryPlan>(([key, value]) => ({ text: `${pct(key)}=${pct(value)}`, invalid: false })) },
    { weight: 1, arbitrary: fc.constantFrom('&', '&&=', '=', '%', '%zz', '==&&', ';', 'a=1;b=2', '#fragment', '?').map<QueryPlan>((text) => ({ text, invalid: false })) },
  );
  return fc.tuple(fc.tuple(...perParameter), extra).map(([parts, more]) => {
    const all = [...parts, more].filter((part) => part.text !== '');
    return { text: all.map((part) => part.text).join('&'), invalid: all.some((part) => part.invalid) };
  });
}

function headersArb(op: Operation): fc.Arbitrary<Record<string, string>> {
  /** Present in about one request in (1 + absent). */
  const optional = (arbitrary: fc.Arbitrary<string>, absent = 3) =>
    fc.oneof({ weight: absent, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arbitrary.map(headerSafe) });
  return fc
    .record({
      'X-Request-Id': optional(fc.oneof(fc.constantFrom('fuzz-req-1', 'a'.repeat(128), 'a'.repeat(129), 'ok:id.1_-'), hostileString)),
      'User-Agent': optional(fc.oneof(hostileString, fc.constant('Mozilla/5.0 '.repeat(100)))),
      Cookie: optional(
        fc.oneof(
          hostileString.map((value) => `confidant_refresh=${value}`),
          fc.uuid().map((id) => `confidant_refresh=${id}.1.${'A'.repeat(43)}; confidant_csrf=x.y`),
          fc.constantFrom('__proto__=x; constructor=y', 'confidant_refresh=j:{"__proto__":{"polluted":"yes"}}', 'confidant_refresh=s:x.y', '=; ;;=x', 'a'.repeat(4_000)),
        ),
      ),
      Origin: optional(fc.constantFrom('http://localhost:5173', 'https://evil.example', 'null', 'http://localhost:5173.evil.example', 'file://')),
      'X-Forwarded-For': optional(fc.constantFrom('1.2.3.4', '127.0.0.1, 10.0.0.1', 'not-an-ip', '::1', '999.999.999.999')),
      'X-Forwarded-Proto': optional(fc.constantFrom('http', 'https', 'gopher'), 6),
      Accept: optional(fc.constantFrom('*/*', 'text/html', 'application/xml', 'application/problem+json', '', 'x/y;q=abc'), 6),
      'Accept-Encoding': optional(fc.constantFrom('gzip', 'br', 'identity;q=0', '*;q=0', 'zstd'), 6),
      ...Object.fromEntries(op.headerParams.map((parameter) => [parameter.name, optional(fc.oneof(hostileString, fc.constantFrom('fuzz-key-1', 'a'.repeat(255), 'a'.repeat(256))), 2)])),
    })
    .map((headers) => Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined)));
}

function callerArb(op: Operation): fc.Arbitrary<CallerKind> {
  return fc.oneof(
    { weight: op.secured ? 2 : 4, arbitrary: fc.constant<CallerKind>('anonymous') },
    { weight: op.secured ? 3 : 1, arbitrary: fc.constant<CallerKind>('user') },
    { weight: op.secured ? 2 : 1, arbitrary: fc.constant<CallerKind>('counselor') },
    { weight: op.secured ? 3 : 1, arbitrary: fc.constant<CallerKind>('admin') },
    { weight: 2, arbitrary: fc.constant<CallerKind>('garbage') },
  );
}

const garbageArb = fc.record({
  kind: fc.constantFrom<GarbageAuth>('two-spaces', 'tampered-signature', 'tampered-payload', 'truncated', 'alg-none', 'basic', 'bearer-only', 'two-tokens', 'long', 'refresh-like', 'injection', 'random'),
  noise: fc.oneof(injection, shortText),
});

function garbageAuthorization(kind: GarbageAuth, noise: string, token: string): string {
  const [header = '', payload = '', signature = ''] = token.split('.');
  const flip = (text: string, at: number) => `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`;
  switch (kind) {
    case 'two-spaces': // the scheme is case-insensitive, the rest strict: `bearer <token>` is valid, two spaces are not
      return `bearer  ${token}`;
    case 'tampered-signature':
      return `Bearer ${header}.${payload}.${flip(signature, 10)}`;
    case 'tampered-payload':
      return `Bearer ${header}.${flip(payload, Math.floor(payload.length / 2))}.${signature}`;
    case 'truncated':
      return `Bearer ${token.slice(0, -12)}`;
    case 'alg-none':
      return `Bearer ${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
    case 'basic':
      return `Basic ${Buffer.from('admin:admin').toString('base64')}`;
    case 'bearer-only':
      return 'Bearer';
    case 'two-tokens':
      return `Bearer ${token} Bearer ${token}`;
    case 'long':
      return `Bearer ${'a'.repeat(4_000)}`;
    case 'refresh-like':
      return `Bearer ${randomUUID()}.1.${'A'.repeat(43)}`;
    case 'injection':
      return headerSafe(`Bearer ${noise}`) || 'Bearer \'';
    case 'random':
      return headerSafe(`Bearer x${noise}`);
  }
}

function requestArb(op: Operation): fc.Arbitrary<FuzzRequest> {
  const otherMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'TRACE', 'PROPFIND'].filter((method) => method !== op.method);
  const methodArb = fc.oneof(
    { weight: 30, arbitrary: fc.constant(op.method) },
    { weight: op.method === 'GET' ? 2 : 0, arbitrary: fc.constant('HEAD') },
    { weight: 1, arbitrary: fc.constant('OPTIONS') },
    { weight: 1, arbitrary: fc.constantFrom(...otherMethods) },
  );
  return fc
    .record({
      caller: callerArb(op),
      garbage: garbageArb,
      method: methodArb,
      segments: fc.tuple(...op.pathParams.map(() => segmentArb(op))),
      query: queryArb(op),
      headers: headersArb(op),
      body: bodyArb(op),
    })
    .map(({ caller, garbage, method, segments, query, headers, body }) => {
      let index = 0;
      const pathname = op.path.replace(/\{[^}]+\}/g, () => segments[index++]?.text ?? '');
      const path = query.text ? `${pathname}?${query.text}` : pathname;
      const request: FuzzRequest = {
        op,
        method,
        path,
        caller,
        ...(caller === 'garbage' && { garbage }),
        headers,
        body: method === 'HEAD' ? undefined : body,
        invalidInput: segments.some((segment) => segment.invalid) || (query.invalid && op.query.length > 0) || Boolean(op.body && body?.invalid),
        routeIntact: segments.every((segment) => segment.text !== ''),
        badPercent: segments.some((segment) => segment.badPercent),
      };
      return Object.assign(request, { [fc.toStringMethod]: () => describeRequest(request) });
    });
}

// ---------------------------------------------------------------------------------------------
// Running one request through the rules.
// ---------------------------------------------------------------------------------------------

async function fire(request: FuzzRequest): Promise<void> {
  const headers: Record<string, string> = { ...request.headers };
  let caller: Caller | undefined;
  if (request.caller === 'garbage' && request.garbage) {
    headers.Authorization = garbageAuthorization(request.garbage.kind, request.garbage.noise, stable.user.token);
  } else if (request.caller !== 'anonymous' && request.caller !== 'garbage') {
    caller = (request.op.disruptive ? disposable : stable)[request.caller];
    headers.Authorization = await caller.authorization();
  }
  if (request.body?.contentType.value !== undefined) headers['Content-Type'] = request.body.contentType.value;
  if (request.body?.encoding) headers['Content-Encoding'] = request.body.encoding.value;

  stats.requests += 1;
  request.headSize = request.method.length + request.path.length + Object.entries(headers).reduce((sum, [name, value]) => sum + name.length + value.length + 4, 40);
  let response: FuzzResponse;
  try {
    response = await send({ method: request.method, path: request.path, headers, body: request.body?.bytes, chunked: request.body?.chunked });
  } catch (error) {
    // A reset, a hang past REQUEST_TIMEOUT_MS or a refused connection is a failure too.
    throw new Error(`${request.op.key}: no answer (${error instanceof Error ? error.message : String(error)})\n  request: ${describeRequest(request)}`);
  }
  stats.byStatus.set(response.status, (stats.byStatus.get(response.status) ?? 0) + 1);

  const tokenRefused = response.status === 401 && response.text.includes('"code":"INVALID_TOKEN"');
  if (caller?.disposable && ((response.status >= 200 && response.status < 300) || tokenRefused)) caller.markStale();
  if (caller && !caller.disposable && tokenRefused) stats.stableTokenLost += 1;

  const bug = knownBug(request, response);
  if (bug) {
    stats.knownBugs.set(bug, (stats.knownBugs.get(bug) ?? 0) + 1);
    const id = response.headers['x-request-id'];
    if (typeof id === 'string') stats.knownBugRequestIds.add(id);
    const leak = leakIn(response.text);
    if (leak) throw new Error(`${request.op.key}: ${describeRequest(request)}\n  → a known-bug 500 that also contains ${leak}`);
    return;
  }
  const problems = problemsWith(request, response);
  if (problems.length > 0) {
    throw new Error(
      `${request.op.key}: ${problems.join('; ')}\n  request: ${describeRequest(request)}\n  response: ${response.status} ${String(response.headers['content-type'] ?? '')} ${clip(response.text, 600)}`,
    );
  }
}

/** Runs tasks with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await task(item);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw new AggregateError(errors, errors.map((error) => (error instanceof Error ? error.message : String(error))).join('\n\n'));
}

/** Operations with more to vary get more runs; the total is TARGET_RUNS. */
function runsFor(all: Operation[]): Map<Operation, number> {
  const weight = (op: Operation) => 2 + (op.pathParams.length > 0 ? 2 : 0) + (op.query.length > 0 ? 1.5 : 0) + (op.body ? 3 : 0);
  const total = all.reduce((sum, op) => sum + weight(op), 0);
  return new Map(all.map((op) => [op, Math.ceil((TARGET_RUNS * weight(op)) / total)]));
}

// ---------------------------------------------------------------------------------------------
// Raw sockets: what Node's client refuses to send.
// ---------------------------------------------------------------------------------------------

interface RawResponse {
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
function rawExchange(payload: Buffer, waitMs: number): Promise<{ responses: RawResponse[]; raw: string; cut: boolean }> {
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

function parseResponses(raw: string): RawResponse[] {
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

const CRLF_HEADERS = ['X-Request-Id', 'User-Agent', 'Authorization', 'Idempotency-Key', 'X-CSRF-Token', 'Cookie', 'Origin', 'Content-Type', 'X-Forwarded-For', 'Accept-Language'];
const CRLF_VALUES = [
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
const RAW_EXTRAS = [
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

// ---------------------------------------------------------------------------------------------

describe('fuzzing every documented operation', () => {
  it('reads every operation from the OpenAPI document, and the hostile corpus does not itself look like a leak', () => {
    expect(operations.length).toBeGreaterThanOrEqual(40);
    for (const key of ['POST /api/auth/login', 'POST /api/sessions/{id}/entries', 'PATCH /api/admin/users/{id}', 'GET /api/dashboard/summary', 'GET /health']) {
      expect(operations.map((op) => op.key)).toContain(key);
    }
    const corpus = [...INJECTIONS, ...POLLUTION_MEMBERS, ...MALFORMED_JSON, ...RAW_SEGMENTS, ...CRLF_VALUES];
    expect(corpus.filter((text) => leakIn(text) !== undefined)).toEqual([]);
    // ...and the patterns do catch what a leaking 5xx would carry.
    const leaks = [
      'Error: boom\n    at handler (/work/main/src/app.ts:10:5)',
      '{"debug":{"stack":"TypeError: x\\n    at y (file:///srv/app.js:1:2)"}}',
      'SQLITE_CONSTRAINT: UNIQUE constraint failed: users.email',
      'SequelizeDatabaseError: relation "users" does not exist',
      'SELECT "id", "email" FROM "users" WHERE "id" = 1',
      'error: syntax error at or near "OR"',
      'duplicate key value violates unique constraint "users_email_key"',
      'ENOENT: no such file or directory, open \'/tmp/confidant-test-x/keys.json\'',
      "Cannot read properties of undefined (reading 'id')",
      'Unexpected token } in JSON at position 7',
    ];
    expect(leaks.filter((text) => leakIn(text) === undefined)).toEqual([]);
  });

  it(
    `answers at least 5,000 hostile requests (seed ${SEED}) without a 5xx, a leak or a missing problem body`,
    async () => {
      const started = Date.now();
      const runs = runsFor(operations);
      const ordered = [...operations].sort((a, b) => runs.get(b)! - runs.get(a)!);
      await pool(ordered, CONCURRENCY, async (op) => {
        const seed = (SEED + operations.indexOf(op) * 7_919) | 0;
        try {
          await fc.assert(
            fc.asyncProperty(requestArb(op), (request) => fire(request)),
            { seed, numRuns: runs.get(op)! },
          );
        } catch (error) {
          // fast-check keeps the property's own error (the request and response) as the cause.
          const cause = error instanceof Error && error.cause instanceof Error ? `\n${error.cause.message}` : '';
          const message = error instanceof Error ? error.message : String(error);
          throw new Error(`fuzzing ${op.key} failed (FUZZ_SEED=${SEED}, operation seed ${seed}):${cause}\n${message}`);
        }
      });
      stats.durationMs = Date.now() - started;
      expect(stats.requests).toBeGreaterThanOrEqual(TARGET_RUNS - 10);
      expect(stats.stableTokenLost, 'a stable caller lost its session: authenticated coverage would silently shrink').toBe(0);
    },
    240_000,
  );

  it('answers CR/LF, NUL and smuggling attempts in raw requests without a 5xx or an injected header', async () => {
    const sample = fc.sample(
      fc.record({
        op: fc.constantFrom(...operations),
        header: fc.constantFrom(...CRLF_HEADERS),
        // CRLF pairs are well-formed HTTP (a new header line) and reach the app; bare CR, LF and NUL stop at Node's parser.
        value: fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...CRLF_VALUES.filter((value) => !/\r(?!\n)|(?<!\r)\n|[\0\v]/.test(value))) }, { weight: 1, arbitrary: fc.constantFrom(...CRLF_VALUES) }),
        extra: fc.oneof({ weight: 8, arbitrary: fc.constant(RAW_EXTRAS[0]!) }, { weight: 6, arbitrary: fc.constantFrom(...RAW_EXTRAS.slice(1)) }),
        authenticated: fc.boolean(),
        rawPath: fc.oneof({ weight: 8, arbitrary: fc.constant('') }, { weight: 2, arbitrary: fc.constantFrom(' /x', '\u00e9\u00ff', '\r\nX-Injected: yes', '%0d%0a', '\t') }),
      }),
      { seed: SEED, numRuns: RAW_SOCKET_RUNS },
    );
    const failures: string[] = [];
    await pool(sample, CONCURRENCY, async ({ op, header, value, extra, authenticated, rawPath }) => {
      const path = `${op.path.replace(/\{[^}]+\}/g, pools.session[0]!)}${rawPath}`;
      // The disposable admin: a raw POST /api/auth/logout may well end its session.
      const auth = authenticated && header !== 'Authorization' ? `Authorization: ${await disposable.admin.authorization()}\r\n` : '';
      const payload = Buffer.from(`${op.method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}${extra.text}${header}: ${value}\r\nConnection: close\r\n\r\n`, 'latin1');
      stats.requests += 1;
      const { responses, raw, cut } = await rawExchange(payload, extra.mayWait ? 1_500 : 10_000);
      if (auth && responses.some((response) => response.status < 300 || response.status === 401)) disposable.admin.markStale();
      const what = `${JSON.stringify(payload.toString('latin1'))}\n  → ${clip(JSON.stringify(raw), 500)}`;
      if (responses.length === 0 && !(cut && extra.mayWait)) failures.push(`no answer to ${what}`);
      for (const response of responses) {
        bump(stats.raw, `${response.headers['x-request-id'] === undefined ? 'Node' : 'app'} ${response.status}`);
        if (!(response.status >= 200 && response.status < 500)) failures.push(`status ${response.status} for ${what}`);
        if (/^(?:x-injected|set-cookie: pwned)/im.test(response.head)) failures.push(`an injected header came back for ${what}`);
        const leak = leakIn(response.head + response.body);
        if (leak) failures.push(`the response contains ${leak} for ${what}`);
        const fromApp = response.headers['x-request-id'] !== undefined;
        if (fromApp && response.status >= 400 && !(response.headers['content-type'] ?? '').startsWith('application/problem+json')) failures.push(`a ${response.status} without a problem body for ${what}`);
        if (!fromApp && ![400, 413, 431].includes(response.status)) failures.push(`Node itself answered ${response.status} for ${what}`);
      }
    });
    expect(failures).toEqual([]);
    // Not vacuous: a good share got past Node's parser (a CRLF pair in a value is just a new header line).
    const fromApp = [...stats.raw.entries()].filter(([key]) => key.startsWith('app')).reduce((sum, [, count]) => sum + count, 0);
    expect(fromApp).toBeGreaterThan(RAW_SOCKET_RUNS / 8);
  }, 60_000);

  it('is still healthy afterwards, with no 5xx counted, no error logged and Object.prototype untouched', async () => {
    const health = await send({ method: 'GET', path: '/health', headers: {} });
    expect(health.status).toBe(200);
    const ready = await send({ method: 'GET', path: '/health/ready', headers: {} });
    expect(ready.status, ready.text).toBe(200);
    const me = await send({ method: 'GET', path: '/api/users/me', headers: { Authorization: await stable.user.authorization() } });
    expect(me.status).toBe(200);

    const probe = {} as Record<string, unknown>;
    expect([probe.polluted, probe.isAdmin, probe.role]).toEqual([undefined, undefined, undefined]);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeysBefore.object);
    expect(Object.getOwnPropertyNames(Array.prototype).sort()).toEqual(prototypeKeysBefore.array);
    expect(Object.getOwnPropertyNames(Function.prototype).sort()).toEqual(prototypeKeysBefore.function);
    expect(Object.getOwnPropertyNames(String.prototype).sort()).toEqual(prototypeKeysBefore.string);

    // Nobody was promoted or disabled by a body or query the fuzzer sent.
    const { User } = t.context.models;
    for (const role of ['user', 'counselor', 'admin'] as const) {
      const row = await User.findByPk(stable[role].user.id);
      expect(row?.role).toBe(role);
    }

    // Every 5xx the app counted is one of the known bugs the client saw (none slipped out unseen).
    const counted = Object.entries(t.context.errorHandler.stats.snapshot().byStatus)
      .filter(([status]) => Number(status) >= 500)
      .reduce((sum, [, count]) => sum + count, 0);
    const known = [...stats.knownBugs.values()].reduce((sum, count) => sum + count, 0);
    expect(counted).toBe(known);
    const unexpectedErrors = captured.filter((entry) => entry.level === 'error' && !stats.knownBugRequestIds.has(String(entry.fields.requestId)));
    expect(unexpectedErrors.map((entry) => `${entry.message} ${JSON.stringify({ ...entry.fields, stack: undefined })}`)).toEqual([]);

    const statuses = [...stats.byStatus.entries()].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(' ');
    const bugs = [...stats.knownBugs.entries()].map(([bug, count]) => `    ${count}× ${bug}`).join('\n');
    const listing = (map: Map<string, number>) => [...map.entries()].map(([key, count]) => `${key} ×${count}`).join(', ');
    process.stdout.write(
      `\n[fuzz] seed ${SEED}: ${stats.requests} requests over ${operations.length} operations in ${(stats.durationMs / 1000).toFixed(1)} s (${t.dialect})\n` +
        `[fuzz] statuses: ${statuses}\n` +
        `[fuzz] exact expectations checked: ${listing(stats.expectations)}\n` +
        `[fuzz] raw-socket answers: ${listing(stats.raw)}; disposable sign-ins renewed: ${stats.renewals}\n` +
        `[fuzz] warnings logged: ${[...new Set(captured.filter((entry) => entry.level === 'warn').map((entry) => entry.message))].join(' | ') || 'none'}\n` +
        (bugs ? `[fuzz] known bugs hit (tolerated, see the it.fails tests):\n${bugs}\n` : ''),
    );
    expect(stats.requests).toBeGreaterThanOrEqual(5_000);
  });
});

/** Bugs the fuzzer found, fixed since: minimal reproductions that keep them fixed. */
describe('bugs found by fuzzing', () => {
  it('a path parameter with invalid percent-encoding (GET /api/sessions/%zz) is a 400 problem, not a 500', async () => {
    for (const path of ['/api/sessions/%zz', '/api/sessions/%E0%A4%A/report', '/api/auth/sessions/%', '/api/admin/users/%zz']) {
      const response = await send({ method: path.startsWith('/api/auth') ? 'DELETE' : path.startsWith('/api/admin') ? 'PATCH' : 'GET', path, headers: {} });
      expect(response.status, `${path}: ${response.text}`).toBeLessThan(500);
    }
  });

  it('a JSON body whose Content-Encoding (gzip, deflate, br) does not decompress is a 400 problem, not a 500', async () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const response = await send({
        method: 'POST',
        path: '/api/auth/login',
        headers: { 'Content-Type': 'application/json', 'Content-Encoding': encoding },
        body: Buffer.from('{"email":"a@example.com","password":"x"}'),
      });
      expect(response.status, `${encoding}: ${response.text}`).toBe(400);
    }
  });
});
