/**
 * The deployment checker (docs/DESIGN.md §9): probes a running Confidant over HTTP and reports,
 * check by check, whether health, readiness, the JWKS, the security headers of §2.3, the CORS
 * allowlist, the rate-limit headers, problem responses and response time are what the design
 * promises. It sends a dozen or so requests, all to the given base URL, never follows a
 * redirect (a redirect is reported, not chased), and bounds every request with a timeout.
 */
import { randomBytes } from 'node:crypto';
import {
  absentProblem,
  allowsOriginProblem,
  cacheControlProblem,
  cspProblem,
  exactProblem,
  hstsProblem,
  jwksProblem,
  permissionsProblem,
  problem404Problem,
  referrerProblem,
  refusesOriginProblem,
  unexpectedStatus,
} from './checks.js';
import { clip, isObject, median, parseBaseUrl, parseJson, parseOrigin, prober, ProbeError, round, type Outcome, type Probe } from './probes.js';
import { reportBuilder, type SecurityReport } from './report.js';

export { parseBaseUrl, parseOrigin } from './probes.js';
export { renderHtml, renderText, type CheckResult, type SecurityReport } from './report.js';

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

/** Runs every check against `baseUrl` and returns the report; never throws for an unreachable host. */
export async function runSecurityCheck(baseUrl: string, options: SecurityCheckOptions = {}): Promise<SecurityReport> {
  const base = parseBaseUrl(baseUrl);
  const allowedOrigin = options.origin === undefined ? undefined : parseOrigin(options.origin);
  const maxMs = options.maxMs ?? DEFAULTS.maxMs;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const samples = Math.max(1, Math.floor(options.samples ?? DEFAULTS.samples));
  const requireHsts = base.protocol === 'https:' || options.expectHttps === true;
  const report = reportBuilder(base);
  const { pass, fail, skip, on } = report;
  const request = prober(base, timeoutMs);

  // --- liveness and response time: stop at once when the first request cannot be made ---
  const healthRuns: Outcome[] = [];
  for (let i = 0; i < samples; i += 1) {
    const outcome = await request('GET', '/health');
    if (i === 0 && outcome instanceof ProbeError) {
      fail('reachable', outcome.message);
      return report.finish();
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
  const preflight = (origin: string) =>
    request('OPTIONS', preflightPath, { Origin: origin, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' });
  const ready = await request('GET', '/health/ready');
  const jwks = await request('GET', '/.well-known/jwks.json');
  const apiMissing = await request('GET', missingPath, { 'X-Request-Id': requestId });
  const unknownGet = await request('GET', missingPath, { Origin: UNKNOWN_ORIGIN });
  const unknownPreflight = await preflight(UNKNOWN_ORIGIN);
  const allowedGet = allowedOrigin ? await request('GET', missingPath, { Origin: allowedOrigin }) : undefined;
  const allowedPreflight = allowedOrigin ? await preflight(allowedOrigin) : undefined;

  on(
    'GET /health/ready',
    ready,
    (p) => (p.status === 200 ? undefined : `${unexpectedStatus(p, '200')}: ${clip(p.body)}`),
    (p) => {
      const body = parseJson(p.body);
      return `200${isObject(body) && typeof body.status === 'string' ? `, status "${body.status}"` : ''}`;
    },
  );
  on('JWKS', jwks, jwksProblem, (p) => {
    const keys = (parseJson(p.body) as { keys: unknown[] }).keys;
    return `${keys.length} key${keys.length === 1 ? '' : 's'}, all OKP Ed25519 EdDSA, no private members`;
  });

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
  on('problem+json 404', apiMissing, (p) => problem404Problem(p, requestId), () => `404 application/problem+json with requestId "${requestId}"`);
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
  const refusesUnknown = (p: Probe) => refusesOriginProblem(p, UNKNOWN_ORIGIN);
  on('CORS refuses unknown origin (GET)', unknownGet, refusesUnknown, (p) => `${p.status}, no Access-Control-Allow-* for ${UNKNOWN_ORIGIN}`);
  on('CORS refuses unknown origin (preflight)', unknownPreflight, refusesUnknown, (p) => `${p.status}, no Access-Control-Allow-* for ${UNKNOWN_ORIGIN}`);
  if (allowedOrigin && allowedGet && allowedPreflight) {
    on('CORS allows origin (GET)', allowedGet, (p) => allowsOriginProblem(p, allowedOrigin, false), () => `${allowedOrigin} allowed with credentials, Vary: Origin`);
    on('CORS allows origin (preflight)', allowedPreflight, (p) => allowsOriginProblem(p, allowedOrigin, true), (p) => `${p.status}, ${allowedOrigin} allowed with credentials`);
  } else {
    skip('CORS allows origin', 'pass --origin <an origin in CORS_ORIGINS> to check it gets CORS headers with credentials');
  }

  return report.finish();
}
