/**
 * The deployment checker of docs/DESIGN.md §9: probes a running Confidant over HTTP and reports, check
 * by check, whether health, readiness, the JWKS, the §2.3 security headers, the CORS allowlist,
 * the rate-limit headers, problem responses and response time are what the design promises.
 *
 * It sends a dozen or so requests, all to the given base URL, never follows a redirect
 * (a redirect is reported, not chased), and bounds every request with a timeout.
 */
import { randomBytes } from 'node:crypto';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  /** Not applicable with the given options (e.g. HSTS over plain HTTP); counts as ok. */
  skipped?: boolean;
}

export interface SecurityReport {
  baseUrl: string;
  ok: boolean;
  results: CheckResult[];
  /** ISO 8601. */
  startedAt: string;
  durationMs: number;
}

export interface SecurityCheckOptions {
  /** An origin the deployment allows (CORS_ORIGINS): it must get CORS headers with credentials. */
  origin?: string;
  /** Require HSTS even when the base URL is plain HTTP (e.g. behind a TLS-terminating proxy). */
  expectHttps?: boolean;
  /** Largest acceptable median response time of GET /health, in ms. */
  maxMs?: number;
  /** Per-request timeout, in ms. */
  timeoutMs?: number;
  /** How many GET /health requests the median is taken over. */
  samples?: number;
}

export const DEFAULTS = { maxMs: 500, timeoutMs: 5000, samples: 5 } as const;

/** An origin no deployment allows. */
export const UNKNOWN_ORIGIN = 'https://evil.example';
const ONE_YEAR_S = 31_536_000;
const STRICT_REFERRER_POLICIES = new Set(['no-referrer', 'same-origin', 'strict-origin', 'strict-origin-when-cross-origin']);
const KNOWN_REFERRER_POLICIES = new Set([...STRICT_REFERRER_POLICIES, 'no-referrer-when-downgrade', 'origin', 'origin-when-cross-origin', 'unsafe-url']);
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
const REQUIRED_PERMISSIONS = ['geolocation', 'microphone', 'camera'];
const MAX_BODY_CHARS = 64 * 1024;

interface Probe {
  method: string;
  path: string;
  status: number;
  headers: Headers;
  body: string;
  ms: number;
}

/** A request that could not be made; `message` says why (refused, timed out, DNS...). */
class ProbeError extends Error {}

type Outcome = Probe | ProbeError;

/** Normalises and validates a base URL: http(s), no credentials, no query or fragment. */
export function parseBaseUrl(input: string): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new Error(`not a URL: ${input}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`the base URL must be http or https: ${input}`);
  if (url.username || url.password) throw new Error('the base URL must not contain credentials');
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** Normalises an origin (`https://app.example.com/` → `https://app.example.com`); throws when it has a path. */
export function parseOrigin(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new Error(`not an origin: ${input}`);
  }
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const round = (ms: number) => (ms < 10 ? Math.round(ms * 10) / 10 : Math.round(ms));
const clip = (text: string, max = 160) => (text.length > max ? `${text.slice(0, max)}…` : text);

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `expected 200, got 308 (Location: https://...)` */
function unexpectedStatus(probe: Probe, expected: string): string {
  const location = probe.headers.get('location');
  return `${probe.method} ${probe.path}: expected ${expected}, got ${probe.status}${location ? ` (redirect to ${clip(location)}; not followed)` : ''}`;
}

// --- header rules: each returns undefined when satisfied, else what is wrong ---

function cspProblem(value: string | null): string | undefined {
  if (value === null) return 'missing';
  // A comma separates policies; each is enforced, so one policy carrying both directives is enough.
  const policies = value.split(',').map((policy) => {
    const directives = new Map<string, string[]>();
    for (const part of policy.split(';')) {
      const [name, ...sources] = part.trim().split(/\s+/);
      if (name && !directives.has(name.toLowerCase())) directives.set(name.toLowerCase(), sources.map((s) => s.toLowerCase()));
    }
    return directives;
  });
  const onlyNone = (sources: string[] | undefined) => sources?.length === 1 && sources[0] === "'none'";
  const good = policies.some((d) => onlyNone(d.get('default-src')) && onlyNone(d.get('frame-ancestors')));
  return good ? undefined : `"${clip(value)}" lacks default-src 'none' and frame-ancestors 'none'`;
}

function exactProblem(expected: string, caseInsensitive = true) {
  return (value: string | null): string | undefined => {
    if (value === null) return 'missing';
    const actual = value.trim();
    const same = caseInsensitive ? actual.toLowerCase() === expected.toLowerCase() : actual === expected;
    return same ? undefined : `"${clip(value)}", expected "${expected}"`;
  };
}

function referrerProblem(value: string | null): string | undefined {
  if (value === null) return 'missing';
  // Browsers apply the last policy they recognise in a comma list.
  const effective = value
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => KNOWN_REFERRER_POLICIES.has(token))
    .at(-1);
  if (effective === undefined) return `"${clip(value)}" is not a recognised policy`;
  return STRICT_REFERRER_POLICIES.has(effective) ? undefined : `"${effective}" is weaker than strict-origin-when-cross-origin`;
}

function permissionsProblem(value: string | null): string | undefined {
  if (value === null) return 'missing';
  const features = new Map<string, string>();
  for (const item of value.split(',')) {
    const [feature, allowlist = ''] = item.split('=');
    if (feature) features.set(feature.trim().toLowerCase(), allowlist.replace(/\s+/g, ''));
  }
  const open = REQUIRED_PERMISSIONS.filter((feature) => features.get(feature) !== '()');
  return open.length ? `"${clip(value)}" does not disable ${open.map((f) => `${f}=()`).join(', ')}` : undefined;
}

function absentProblem(value: string | null): string | undefined {
  return value === null ? undefined : `present: "${clip(value)}"`;
}

function cacheControlProblem(value: string | null): string | undefined {
  if (value === null) return 'missing';
  const directives = value.split(',').map((d) => d.trim().toLowerCase());
  return directives.includes('no-store') ? undefined : `"${clip(value)}" lacks no-store`;
}

function hstsProblem(value: string | null): string | undefined {
  if (value === null) return 'missing';
  const directives = value.split(';').map((d) => d.trim().toLowerCase());
  const maxAge = directives.map((d) => /^max-age\s*=\s*"?(\d+)"?$/.exec(d)?.[1]).find((m) => m !== undefined);
  const problems: string[] = [];
  if (maxAge === undefined) problems.push('no max-age');
  else if (Number(maxAge) < ONE_YEAR_S) problems.push(`max-age ${maxAge} < ${ONE_YEAR_S}`);
  if (!directives.includes('includesubdomains')) problems.push('no includeSubDomains');
  return problems.length ? `"${clip(value)}": ${problems.join(', ')}` : undefined;
}

/** Runs every check against `baseUrl` and returns the report; never throws for an unreachable host. */
export async function runSecurityCheck(baseUrl: string, options: SecurityCheckOptions = {}): Promise<SecurityReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const base = parseBaseUrl(baseUrl);
  const allowedOrigin = options.origin === undefined ? undefined : parseOrigin(options.origin);
  const maxMs = options.maxMs ?? DEFAULTS.maxMs;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const samples = Math.max(1, Math.floor(options.samples ?? DEFAULTS.samples));
  const requireHsts = base.protocol === 'https:' || options.expectHttps === true;
  const results: CheckResult[] = [];
  const pass = (name: string, detail: string) => results.push({ name, ok: true, detail });
  const fail = (name: string, detail: string) => results.push({ name, ok: false, detail });
  const skip = (name: string, detail: string) => results.push({ name, ok: true, detail, skipped: true });
  const finish = (): SecurityReport => ({
    baseUrl: base.href.replace(/\/$/, ''),
    ok: results.every((result) => result.ok),
    results,
    startedAt,
    durationMs: Math.round(performance.now() - started),
  });

  async function request(method: string, path: string, headers: Record<string, string> = {}): Promise<Outcome> {
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
  }

  // --- liveness and response time: stop at once when the first request cannot be made ---
  const healthRuns: Outcome[] = [];
  for (let i = 0; i < samples; i += 1) {
    const outcome = await request('GET', '/health');
    if (i === 0 && outcome instanceof ProbeError) {
      fail('reachable', outcome.message);
      return finish();
    }
    healthRuns.push(outcome);
  }
  const health = healthRuns[0] as Probe;
  pass('reachable', `${base.href} answered`);

  const healthBody = parseJson(health.body);
  if (health.status !== 200) fail('GET /health', unexpectedStatus(health, '200'));
  else if (!isObject(healthBody) || healthBody.status !== 'ok') fail('GET /health', `200 but the body is not JSON with status "ok": ${clip(health.body)}`);
  else pass('GET /health', `200, status "ok"${typeof healthBody.version === 'string' ? `, version ${healthBody.version}` : ''}`);

  const failedRun = healthRuns.find((run) => run instanceof ProbeError);
  if (failedRun) fail('response time', failedRun.message);
  else {
    const times = (healthRuns as Probe[]).map((run) => run.ms);
    const middle = median(times);
    const detail = `median ${round(middle)} ms over ${times.length} GET /health (limit ${maxMs} ms; ${times.map(round).join(', ')})`;
    if (middle <= maxMs) pass('response time', detail);
    else fail('response time', detail);
  }

  // --- the remaining requests ---
  const probeId = randomBytes(6).toString('hex');
  const requestId = `security-check-${probeId}`;
  const missingPath = `/api/security-check-${probeId}/not-found`;
  const preflightPath = '/api/users/me';
  const ready = await request('GET', '/health/ready');
  const jwks = await request('GET', '/.well-known/jwks.json');
  const apiMissing = await request('GET', missingPath, { 'X-Request-Id': requestId });
  const unknownGet = await request('GET', missingPath, { Origin: UNKNOWN_ORIGIN });
  const unknownPreflight = await request('OPTIONS', preflightPath, {
    Origin: UNKNOWN_ORIGIN,
    'Access-Control-Request-Method': 'GET',
    'Access-Control-Request-Headers': 'authorization',
  });
  const allowedGet = allowedOrigin ? await request('GET', missingPath, { Origin: allowedOrigin }) : undefined;
  const allowedPreflight = allowedOrigin
    ? await request('OPTIONS', preflightPath, {
        Origin: allowedOrigin,
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'authorization',
      })
    : undefined;

  /** Runs `check` on a response, or fails `name` with why the request could not be made. */
  const on = (name: string, outcome: Outcome, check: (probe: Probe) => string | undefined, okDetail: (probe: Probe) => string) => {
    if (outcome instanceof ProbeError) return fail(name, outcome.message);
    const problem = check(outcome);
    if (problem === undefined) pass(name, okDetail(outcome));
    else fail(name, problem);
  };

  on(
    'GET /health/ready',
    ready,
    (p) => (p.status === 200 ? undefined : `${unexpectedStatus(p, '200')}: ${clip(p.body)}`),
    (p) => {
      const body = parseJson(p.body);
      return `200${isObject(body) && typeof body.status === 'string' ? `, status "${body.status}"` : ''}`;
    },
  );

  on(
    'JWKS',
    jwks,
    (p) => {
      if (p.status !== 200) return unexpectedStatus(p, '200');
      const body = parseJson(p.body);
      if (!isObject(body) || !Array.isArray(body.keys)) return `not a JWK set: ${clip(p.body)}`;
      if (body.keys.length === 0) return 'the key set is empty';
      const problems = body.keys.flatMap((key: unknown, index) => {
        if (!isObject(key)) return [`key ${index} is not an object`];
        const label = `key ${typeof key.kid === 'string' ? clip(key.kid, 40) : index}`;
        const wrong = [
          key.kty !== 'OKP' && `kty ${String(key.kty)}`,
          key.crv !== 'Ed25519' && `crv ${String(key.crv)}`,
          key.alg !== 'EdDSA' && `alg ${String(key.alg)}`,
        ].filter((x): x is string => typeof x === 'string');
        const secret = PRIVATE_JWK_MEMBERS.filter((member) => member in key);
        return [
          ...(wrong.length ? [`${label}: ${wrong.join(', ')} (want OKP/Ed25519/EdDSA)`] : []),
          ...(secret.length ? [`${label} PUBLISHES PRIVATE MEMBERS ${secret.join(', ')}`] : []),
        ];
      });
      return problems.length ? problems.join('; ') : undefined;
    },
    (p) => {
      const keys = (parseJson(p.body) as { keys: unknown[] }).keys;
      return `${keys.length} key${keys.length === 1 ? '' : 's'}, all OKP Ed25519 EdDSA, no private members`;
    },
  );

  // --- the headers of docs/DESIGN.md §2.3, on a JSON route outside /api and on a problem response under /api ---
  const headerTargets: [string, Outcome][] = [
    ['/health', health],
    [`/api 404`, apiMissing],
  ];
  const headerRule = (name: string, header: string, problem: (value: string | null) => string | undefined, targets = headerTargets) => {
    const broken = targets.flatMap(([label, outcome]) => {
      if (outcome instanceof ProbeError) return [`${label}: ${outcome.message}`];
      const why = problem(outcome.headers.get(header));
      return why === undefined ? [] : [`${label}: ${why}`];
    });
    const where = targets.map(([label]) => label).join(' and ');
    if (broken.length) fail(name, broken.join('; '));
    else {
      const first = targets.map(([, o]) => o).find((o): o is Probe => !(o instanceof ProbeError));
      const value = first?.headers.get(header);
      pass(name, value === null || value === undefined ? `absent on ${where}` : `"${clip(value)}" on ${where}`);
    }
  };
  headerRule('Content-Security-Policy', 'content-security-policy', cspProblem);
  headerRule('X-Frame-Options', 'x-frame-options', exactProblem('DENY'));
  headerRule('X-Content-Type-Options', 'x-content-type-options', exactProblem('nosniff'));
  headerRule('Referrer-Policy', 'referrer-policy', referrerProblem);
  headerRule('X-XSS-Protection', 'x-xss-protection', exactProblem('0'));
  headerRule('Permissions-Policy', 'permissions-policy', permissionsProblem);
  headerRule('no X-Powered-By', 'x-powered-by', absentProblem);
  headerRule('Cache-Control no-store on /api', 'cache-control', cacheControlProblem, [[`/api 404`, apiMissing]]);
  if (requireHsts) headerRule('Strict-Transport-Security', 'strict-transport-security', hstsProblem);
  else skip('Strict-Transport-Security', 'not required over plain HTTP (pass --expect-https when TLS ends at a proxy)');

  // --- problem responses, request ids, rate-limit headers (one GET under /api) ---
  on(
    'problem+json 404',
    apiMissing,
    (p) => {
      if (p.status !== 404) return unexpectedStatus(p, '404');
      const type = p.headers.get('content-type') ?? '';
      if (!/^application\/problem\+json\b/i.test(type)) return `Content-Type "${clip(type)}", expected application/problem+json`;
      const body = parseJson(p.body);
      if (!isObject(body)) return `the body is not a JSON object: ${clip(p.body)}`;
      const missing = ['type', 'title', 'status', 'requestId'].filter((member) => body[member] === undefined);
      if (missing.length) return `the problem lacks ${missing.join(', ')}`;
      if (body.status !== 404) return `the problem says status ${String(body.status)}`;
      if (body.requestId !== requestId) return `requestId "${clip(String(body.requestId))}", expected the sent "${requestId}"`;
      return undefined;
    },
    () => `404 application/problem+json with requestId "${requestId}"`,
  );
  on(
    'X-Request-Id echoed',
    apiMissing,
    (p) => {
      const echoed = p.headers.get('x-request-id');
      if (echoed === null) return 'no X-Request-Id in the response';
      return echoed === requestId ? undefined : `sent "${requestId}", got "${clip(echoed)}"`;
    },
    () => `"${requestId}" echoed`,
  );
  on(
    'rate-limit headers',
    apiMissing,
    (p) => {
      const missing = ['RateLimit', 'RateLimit-Policy'].filter((header) => !p.headers.get(header)?.trim());
      return missing.length ? `${missing.join(' and ')} missing on GET ${missingPath}` : undefined;
    },
    (p) => `RateLimit: ${clip(p.headers.get('ratelimit') ?? '', 60)} | RateLimit-Policy: ${clip(p.headers.get('ratelimit-policy') ?? '', 60)}`,
  );

  // --- CORS: an unknown origin gets nothing; an allowed one gets credentials ---
  const refusesUnknown = (p: Probe) => {
    const granted = ['access-control-allow-origin', 'access-control-allow-credentials'].filter((h) => p.headers.get(h) !== null);
    if (granted.length) return `${UNKNOWN_ORIGIN} got ${granted.map((h) => `${h}: ${clip(p.headers.get(h) ?? '', 60)}`).join(', ')}`;
    if (p.status >= 500) return `${p.method} ${p.path} from ${UNKNOWN_ORIGIN} was turned into a ${p.status}`;
    return undefined;
  };
  on('CORS refuses unknown origin (GET)', unknownGet, refusesUnknown, (p) => `${p.status}, no Access-Control-Allow-* for ${UNKNOWN_ORIGIN}`);
  on('CORS refuses unknown origin (preflight)', unknownPreflight, refusesUnknown, (p) => `${p.status}, no Access-Control-Allow-* for ${UNKNOWN_ORIGIN}`);

  if (allowedOrigin && allowedGet && allowedPreflight) {
    const allows = (p: Probe, preflight: boolean) => {
      const problems: string[] = [];
      const allowOrigin = p.headers.get('access-control-allow-origin');
      if (allowOrigin !== allowedOrigin) problems.push(allowOrigin === null ? 'no Access-Control-Allow-Origin' : `Access-Control-Allow-Origin "${clip(allowOrigin, 60)}"`);
      if (p.headers.get('access-control-allow-credentials') !== 'true') problems.push('no Access-Control-Allow-Credentials: true');
      if (!preflight && !(p.headers.get('vary') ?? '').toLowerCase().split(/\s*,\s*/).some((v) => v === 'origin' || v === '*')) problems.push('no Vary: Origin');
      if (preflight) {
        if (p.status < 200 || p.status >= 300) problems.push(`status ${p.status}`);
        const methods = (p.headers.get('access-control-allow-methods') ?? '').toUpperCase().split(/\s*,\s*/);
        if (!methods.includes('GET') && !methods.includes('*')) problems.push('GET not in Access-Control-Allow-Methods');
      }
      return problems.length ? `${allowedOrigin}: ${problems.join(', ')}` : undefined;
    };
    on('CORS allows origin (GET)', allowedGet, (p) => allows(p, false), () => `${allowedOrigin} allowed with credentials, Vary: Origin`);
    on('CORS allows origin (preflight)', allowedPreflight, (p) => allows(p, true), (p) => `${p.status}, ${allowedOrigin} allowed with credentials`);
  } else {
    skip('CORS allows origin', 'pass --origin <an origin in CORS_ORIGINS> to check it gets CORS headers with credentials');
  }

  return finish();
}
