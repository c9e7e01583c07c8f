import { z } from 'zod';
import { version } from '../../lib/version.js';
import { OPERATIONS } from './operations.js';
import type { RouteInfo } from './route-inventory.js';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** Params and query objects become OpenAPI parameters, one per property. */
function parameters(schema: z.ZodType | undefined, location: 'path' | 'query') {
  if (!schema) return [];
  const object = jsonSchema(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || (object.required ?? []).includes(name),
    schema: property,
  }));
}

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });

const EXTRA_HEADERS: Record<string, { name: string; description: string }[]> = {
  'POST /api/sessions': [{ name: 'Idempotency-Key', description: 'Same key and user within 24 h returns the first result (1-255 of A-Z a-z 0-9 . _ : -).' }],
  'POST /api/auth/refresh': [{ name: 'X-CSRF-Token', description: 'Required with the cookie transport: the value from login or GET /api/auth/csrf.' }],
  'POST /api/auth/logout': [{ name: 'X-CSRF-Token', description: 'Required when logging out by cookie.' }],
};

function operation(route: RouteInfo) {
  const key = `${route.method} ${route.path}`;
  const doc = OPERATIONS[key];
  const [status, description] = doc?.success ?? [200, 'Success'];
  const responses: Record<string, unknown> = {
    [status]: status === 204 ? { description } : { description, content: { 'application/json': { schema: { type: 'object' } } } },
  };
  if (route.schemas.body || route.schemas.query || route.schemas.params) responses['400'] = problem('Invalid input (VALIDATION_FAILED and others)');
  if (route.access) responses['401'] = problem('Missing or invalid access token');
  if (route.access?.kind === 'roles') responses['403'] = problem('The caller’s role is not allowed');
  if (route.schemas.params) responses['404'] = problem('Not found (or not visible to the caller)');
  responses['429'] = problem('Rate limited; see Retry-After');
  responses.default = problem('Unexpected error');
  return {
    operationId: key.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, ''),
    summary: doc?.summary ?? key,
    ...(doc?.description && { description: doc.description }),
    tags: [doc?.tag ?? 'Other'],
    parameters: [
      ...parameters(route.schemas.params, 'path'),
      ...parameters(route.schemas.query, 'query'),
      ...(EXTRA_HEADERS[key] ?? []).map(({ name, description: text }) => ({ name, in: 'header', required: false, description: text, schema: { type: 'string' } })),
    ],
    ...(route.schemas.body && { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.schemas.body) } } } }),
    ...(route.access && { security: [{ bearerAuth: [] }, ...(route.monitoring ? [{ monitoringToken: [] }] : [])] }),
    responses,
  };
}

/** OpenAPI 3.1 from the routes the app really serves and the zod schemas they validate with. */
export function buildOpenApiDocument(routes: RouteInfo[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(route) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Confidant API',
      version,
      description: 'Counseling and coaching platform API. Errors are RFC 9457 problems with a stable `code` and the `requestId`.',
    },
    // Relative: "Try it" calls the origin the page was opened on (localhost, 127.0.0.1 or the
    // public name), which is also the only one the docs page's CSP lets it reach.
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'EdDSA access token from POST /api/auth/login' },
        monitoringToken: { type: 'http', scheme: 'bearer', description: 'The MONITORING_TOKEN (error statistics only)' },
      },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'code'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string', pattern: '^[A-Z0-9_]+$' },
            requestId: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
          },
        },
      },
    },
  };
}
