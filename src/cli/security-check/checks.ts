import { clip, isObject, parseJson, type Probe } from './probes.js';

/** What each check demands of a response: `undefined` when satisfied, else what is wrong. */
const ONE_YEAR_S = 31_536_000;
const STRICT_REFERRER_POLICIES = new Set(['no-referrer', 'same-origin', 'strict-origin', 'strict-origin-when-cross-origin']);
const KNOWN_REFERRER_POLICIES = new Set([...STRICT_REFERRER_POLICIES, 'no-referrer-when-downgrade', 'origin', 'origin-when-cross-origin', 'unsafe-url']);
export const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
const REQUIRED_PERMISSIONS = ['geolocation', 'microphone', 'camera'];

/** `expected 200, got 308 (Location: https://...)` */
export function unexpectedStatus(probe: Probe, expected: string): string {
  const location = probe.headers.get('location');
  return `${probe.method} ${probe.path}: expected ${expected}, got ${probe.status}${location ? ` (redirect to ${clip(location)}; not followed)` : ''}`;
}

// --- header rules: each returns undefined when satisfied, else what is wrong ---

export function cspProblem(value: string | null): string | undefined {
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

export function exactProblem(expected: string, caseInsensitive = true) {
  return (value: string | null): string | undefined => {
    if (value === null) return 'missing';
    const actual = value.trim();
    const same = caseInsensitive ? actual.toLowerCase() === expected.toLowerCase() : actual === expected;
    return same ? undefined : `"${clip(value)}", expected "${expected}"`;
  };
}

export function referrerProblem(value: string | null): string | undefined {
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

export function permissionsProblem(value: string | null): string | undefined {
  if (value === null) return 'missing';
  const features = new Map<string, string>();
  for (const item of value.split(',')) {
    const [feature, allowlist = ''] = item.split('=');
    if (feature) features.set(feature.trim().toLowerCase(), allowlist.replace(/\s+/g, ''));
  }
  const open = REQUIRED_PERMISSIONS.filter((feature) => features.get(feature) !== '()');
  return open.length ? `"${clip(value)}" does not disable ${open.map((f) => `${f}=()`).join(', ')}` : undefined;
}

export function absentProblem(value: string | null): string | undefined {
  return value === null ? undefined : `present: "${clip(value)}"`;
}

export function cacheControlProblem(value: string | null): string | undefined {
  if (value === null) return 'missing';
  const directives = value.split(',').map((d) => d.trim().toLowerCase());
  return directives.includes('no-store') ? undefined : `"${clip(value)}" lacks no-store`;
}

export function hstsProblem(value: string | null): string | undefined {
  if (value === null) return 'missing';
  const directives = value.split(';').map((d) => d.trim().toLowerCase());
  const maxAge = directives.map((d) => /^max-age\s*=\s*"?(\d+)"?$/.exec(d)?.[1]).find((m) => m !== undefined);
  const problems: string[] = [];
  if (maxAge === undefined) problems.push('no max-age');
  else if (Number(maxAge) < ONE_YEAR_S) problems.push(`max-age ${maxAge} < ${ONE_YEAR_S}`);
  if (!directives.includes('includesubdomains')) problems.push('no includeSubDomains');
  return problems.length ? `"${clip(value)}": ${problems.join(', ')}` : undefined;
}


/** Every published key is OKP/Ed25519/EdDSA and none carries a private member. */
export function jwksProblem(p: Probe): string | undefined {
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
}

/** A 404 under /api is an RFC 9457 problem that carries the request id the caller sent. */
export function problem404Problem(p: Probe, requestId: string): string | undefined {
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
}

/** An origin that is not allowlisted gets no Access-Control-Allow-* header, and no 5xx. */
export function refusesOriginProblem(p: Probe, origin: string): string | undefined {
  const granted = ['access-control-allow-origin', 'access-control-allow-credentials'].filter((h) => p.headers.get(h) !== null);
  if (granted.length) return `${origin} got ${granted.map((h) => `${h}: ${clip(p.headers.get(h) ?? '', 60)}`).join(', ')}`;
  if (p.status >= 500) return `${p.method} ${p.path} from ${origin} was turned into a ${p.status}`;
  return undefined;
}

/** An allowlisted origin gets itself back with credentials (and Vary: Origin, or GET in a preflight). */
export function allowsOriginProblem(p: Probe, origin: string, preflight: boolean): string | undefined {
  const problems: string[] = [];
  const allowOrigin = p.headers.get('access-control-allow-origin');
  if (allowOrigin !== origin) problems.push(allowOrigin === null ? 'no Access-Control-Allow-Origin' : `Access-Control-Allow-Origin "${clip(allowOrigin, 60)}"`);
  if (p.headers.get('access-control-allow-credentials') !== 'true') problems.push('no Access-Control-Allow-Credentials: true');
  if (!preflight && !(p.headers.get('vary') ?? '').toLowerCase().split(/\s*,\s*/).some((v) => v === 'origin' || v === '*')) problems.push('no Vary: Origin');
  if (preflight) {
    if (p.status < 200 || p.status >= 300) problems.push(`status ${p.status}`);
    const methods = (p.headers.get('access-control-allow-methods') ?? '').toUpperCase().split(/\s*,\s*/);
    if (!methods.includes('GET') && !methods.includes('*')) problems.push('GET not in Access-Control-Allow-Methods');
  }
  return problems.length ? `${origin}: ${problems.join(', ')}` : undefined;
}
