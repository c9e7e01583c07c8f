import bytes from 'bytes';
import { MOUNTS } from '../../../src/routes.js';

/** The OpenAPI document, reduced to what the generators need. */

/** The body limit of each module's mount (src/routes.ts) and the default BODY_LIMIT. */
export const BODY_LIMITS: Array<[string, number]> = MOUNTS.filter((mount) => mount.bodyLimit !== undefined).map((mount) => [mount.prefix, bytes.parse(mount.bodyLimit!) ?? 0]);
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
export const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$|^0{8}-0{4}-0{4}-0{4}-0{12}$|^f{8}-f{4}-f{4}-f{4}-f{12}$/i;

export interface JsonSchema {
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

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: JsonSchema;
}

export interface OpenApiOperation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  security?: unknown[];
}

export interface Operation {
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

export const DISRUPTIVE = new Set(['POST /api/auth/logout', 'POST /api/auth/logout-all', 'POST /api/auth/change-password', 'DELETE /api/users/me']);

export function operationsOf(document: { paths: Record<string, Record<string, OpenApiOperation>> }): Operation[] {
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

export function bodyLimitOf(path: string): number {
  return BODY_LIMITS.find(([prefix]) => path === prefix || path.startsWith(`${prefix}/`))?.[1] ?? DEFAULT_BODY_LIMIT;
}

export type JsonKind = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

export function kindOf(value: unknown): JsonKind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as JsonKind;
}

/** The JSON kinds a schema can accept, or undefined when it accepts anything. */
export function kindsOf(schema: JsonSchema): Set<JsonKind> | undefined {
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
export function wrongKind(schema: JsonSchema, jsonText: string): boolean {
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
export function strictJsonOk(decoded: string): boolean {
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
