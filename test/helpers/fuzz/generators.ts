import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { DEEP, HUGE, INJECTIONS, MALFORMED_JSON, OVER_DEFAULT_LIMIT, POLLUTION_MEMBERS } from './corpus.js';
import { bodyLimitOf, DEFAULT_BODY_LIMIT, UUID, wrongKind, type JsonSchema, type Operation, type Parameter } from './operations.js';
import { CONTENT_TYPES, describeRequest, JSON_CONTENT_TYPE, type BodyPlan, type CallerKind, type FuzzRequest, type GarbageAuth } from './requests.js';

/**
 * What the generators aim at: real ids and addresses of the running test app, filled in
 * by the test before the first request.
 */
export const world = {
  counselorId: '',
  emails: [] as string[],
  pools: { session: [], deletableSession: [], authSession: [], targetUser: [], anyUser: [] } as Record<IdKind, string[]>,
};

/** Generators. */

/** Percent-encodes the UTF-8 bytes of any string (lone surrogates included) outside the unreserved set. */
export function pct(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Header values as Node will send them: UTF-8 bytes as latin1, without the bytes it refuses (CR, LF, NUL...). */
export function headerSafe(text: string): string {
  return Buffer.from(text.slice(0, 2_000), 'utf8')
    .toString('latin1')
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, '?')
    .trim();
}

export const injection = fc.constantFrom(...INJECTIONS);
export const shortText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ maxLength: 40, unit: 'grapheme' }),
  fc.string({ maxLength: 20, unit: 'binary' }),
);
export const hostileString = fc.oneof({ weight: 4, arbitrary: injection }, { weight: 3, arbitrary: shortText }, { weight: 1, arbitrary: fc.constantFrom(201, 1_025, 2_049, 10_001).map((n) => 'x'.repeat(n)) });

/** A JSON text that is hostile as the value of any field. */
export const hostileJsonValue: fc.Arbitrary<string> = fc.oneof(
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

export function validValue(name: string, schema: JsonSchema): fc.Arbitrary<unknown> {
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
    const ids = name === 'counselorId' ? [world.counselorId, ...world.pools.targetUser] : world.pools.anyUser;
    return fc.oneof(fc.constantFrom(...ids), fc.uuid());
  }
  if (schema.format === 'date-time') return fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date(), noInvalidDate: true }).map((date) => date.toISOString());
  if (schema.format === 'uri') return fc.constantFrom('https://example.com/avatar.png', 'https://cdn.example.org/a/b.jpg');
  if (schema.pattern === '^[A-Za-z0-9_-]{43}$') return fc.base64String({ minLength: 44, maxLength: 44 }).map((text) => text.slice(0, 43).replace(/\+/g, '-').replace(/\//g, '_').replace(/=/g, 'A'));
  if (name === 'email') return fc.oneof(fc.constantFrom(...world.emails, 'nobody@example.com'), fc.emailAddress());
  if (/password/i.test(name)) return fc.constantFrom('correct-horse-battery-staple-42', 'plum-thunder-okapi-visor-88', 'short');
  if (name === 'language') return fc.constantFrom('en', 'fr', 'pt-BR');
  if (name === 'timezone') return fc.constantFrom('UTC', 'Europe/Paris', 'America/New_York');
  if (name === 'refreshToken') return fc.uuid().map((id) => `${id}.1.${'A'.repeat(43)}`);
  const minLength = Math.max(schema.minLength ?? 0, 1);
  return fc.string({ minLength, maxLength: Math.max(minLength, Math.min(schema.maxLength ?? 40, 40)) });
}

export interface FieldChoice {
  key: string;
  text?: string;
  invalid: boolean;
}

/** One field: absent, valid, or hostile (then certainly invalid when its JSON kind is wrong). */
export function fieldArb(key: string, schema: JsonSchema, required: boolean): fc.Arbitrary<FieldChoice> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant<FieldChoice>({ key, invalid: required }) },
    { weight: 2, arbitrary: validValue(key, schema).map<FieldChoice>((value) => ({ key, text: JSON.stringify(value), invalid: false })) },
    { weight: 3, arbitrary: hostileJsonValue.map<FieldChoice>((text) => ({ key, text, invalid: wrongKind(schema, text) })) },
  );
}

/** An object for the body schema (a oneOf picks a branch), with hostile fields and extra members, as raw JSON text. */
export function schemaObjectArb(schema: JsonSchema): fc.Arbitrary<{ text: string; invalid: boolean }> {
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
export function sizedBody(key: string, size: number): string {
  const shell = `{${JSON.stringify(key)}:""}`.length;
  return `{${JSON.stringify(key)}:"${'x'.repeat(Math.max(0, size - shell))}"}`;
}

/**
 * Invalid UTF-8 outside strings breaks the JSON (400); inside a string it decodes to U+FFFD and
 * may well be valid, so only an unknown key counts as certainly invalid.
 */
export function invalidUtf8Bodies(key: string, strict: boolean): Array<{ bytes: Buffer; invalid: boolean }> {
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

export function bodyArb(op: Operation): fc.Arbitrary<BodyPlan | undefined> {
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

export function fieldSchema(schema: JsonSchema | undefined, key: string): JsonSchema {
  return schema?.properties?.[key] ?? schema?.oneOf?.[0]?.properties?.[key] ?? {};
}

/** Whether no string of this length can be valid for the field (not a string, a length limit, a format, a fixed value). */
export function rejectsLongString(schema: JsonSchema, length: number): boolean {
  if (wrongKind(schema, '""')) return true;
  if (schema.anyOf || schema.oneOf) return false;
  if (schema.const !== undefined || schema.enum) return true;
  return (schema.maxLength ?? Infinity) < length || schema.format === 'uuid' || schema.format === 'date-time' || /\{\d+\}\$$/.test(schema.pattern ?? '');
}

/** Which pool of real ids a path parameter draws from. */
export type IdKind = 'session' | 'deletableSession' | 'authSession' | 'targetUser' | 'anyUser';

export function idKindOf(op: Operation): IdKind {
  if (op.path.startsWith('/api/auth/sessions/')) return 'authSession';
  if (op.path.startsWith('/api/admin/users/')) return 'targetUser';
  if (op.key === 'DELETE /api/sessions/{id}') return 'deletableSession';
  return 'session';
}

export interface Segment {
  text: string;
  invalid: boolean;
  badPercent: boolean;
}

export const RAW_SEGMENTS = ['%00', '%', '%zz', '%E0%A4%A', '%C0%AE', '%u0041', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', '..', '.', 'a%2Fb', ';', ';jsessionid=1', '%0d%0aX-Injected:%201', '%252e', '%%', '~', '*', '$gt', '%7B%22%24gt%22%3A%22%22%7D'];

export function isBadPercent(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return false;
  } catch {
    return true;
  }
}

export function segmentArb(op: Operation): fc.Arbitrary<Segment> {
  const encoded = (text: string): Segment => ({ text: pct(text), invalid: !UUID.test(text), badPercent: false });
  const raw = (text: string): Segment => {
    const badPercent = isBadPercent(text);
    return { text, invalid: badPercent || !UUID.test(decodeURIComponent(text)), badPercent };
  };
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...world.pools[idKindOf(op)]).map(encoded) },
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

export interface QueryPlan {
  text: string;
  invalid: boolean;
}

export function queryValueArb(parameter: Parameter): fc.Arbitrary<string> {
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

export function queryArb(op: Operation): fc.Arbitrary<QueryPlan> {
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

export function headersArb(op: Operation): fc.Arbitrary<Record<string, string>> {
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

export function callerArb(op: Operation): fc.Arbitrary<CallerKind> {
  return fc.oneof(
    { weight: op.secured ? 2 : 4, arbitrary: fc.constant<CallerKind>('anonymous') },
    { weight: op.secured ? 3 : 1, arbitrary: fc.constant<CallerKind>('user') },
    { weight: op.secured ? 2 : 1, arbitrary: fc.constant<CallerKind>('counselor') },
    { weight: op.secured ? 3 : 1, arbitrary: fc.constant<CallerKind>('admin') },
    { weight: 2, arbitrary: fc.constant<CallerKind>('garbage') },
  );
}

export const garbageArb = fc.record({
  kind: fc.constantFrom<GarbageAuth>('two-spaces', 'tampered-signature', 'tampered-payload', 'truncated', 'alg-none', 'basic', 'bearer-only', 'two-tokens', 'long', 'refresh-like', 'injection', 'random'),
  noise: fc.oneof(injection, shortText),
});

export function garbageAuthorization(kind: GarbageAuth, noise: string, token: string): string {
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

export function requestArb(op: Operation): fc.Arbitrary<FuzzRequest> {
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
