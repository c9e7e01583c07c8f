import { Buffer } from 'node:buffer';
import { Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogFields, Logger } from '../../src/infra/logger.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { INJECTIONS, leakIn, MALFORMED_JSON, POLLUTION_MEMBERS } from '../helpers/fuzz/corpus.js';
import { garbageAuthorization, RAW_SEGMENTS, requestArb, world } from '../helpers/fuzz/generators.js';
import { operationsOf, type OpenApiOperation, type Operation } from '../helpers/fuzz/operations.js';
import { CRLF_HEADERS, CRLF_VALUES, RAW_EXTRAS, rawExchange, sendRequest, type SendOptions } from '../helpers/fuzz/raw-http.js';
import { clip, describeRequest, knownBug, problemsWith, type FuzzRequest, type FuzzResponse, type Role } from '../helpers/fuzz/requests.js';
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

function parseSeed(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_SEED;
  const seed = Number(value);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got ${JSON.stringify(value)}`);
  return seed | 0;
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
const { pools } = world;

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
  world.counselorId = stable.counselor.user.id;
  pools.anyUser = [...Object.values(stable).map((caller) => caller.user.id), ...pools.targetUser];
  // Emails the fuzzer may use: never the disposable callers' (failed logins would throttle their renewal).
  world.emails = [stable.user.user.email, stable.counselor.user.email, stable.admin.user.email, otherUser.user.email];

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

const send = (options: SendOptions) => sendRequest({ port, agent, timeoutMs: REQUEST_TIMEOUT_MS }, options);


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
  const problems = problemsWith(request, response, (why) => bump(stats.expectations, why));
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
      const { responses, raw, cut } = await rawExchange(port, payload, extra.mayWait ? 1_500 : 10_000);
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
