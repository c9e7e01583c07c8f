import { z } from 'zod';
import type { MountedRoute } from '../../http/route-table.js';
import { version } from '../../infra/version.js';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** Params and query objects become OpenAPI parameters, one per property. */
function parameters(schema: z.ZodType | undefined, location: 'path' | 'query') {
  if (!schema) return [];
  const object = jsonSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || (object.required ?? []).includes(name),
    schema: property,
  }));
}

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });

function success({ response }: MountedRoute['spec']) {
  if (response.schema) return { description: response.description, content: { 'application/json': { schema: jsonSchema(response.schema, 'output') } } };
  if (response.contentType) return { description: response.description, content: { [response.contentType]: { schema: { type: 'string' } } } };
  return { description: response.description };
}

/** The service tokens a route accepts besides an access token. */
function serviceTokens(access: MountedRoute['spec']['access']) {
  if (access === 'monitoring') return [{ monitoringToken: [] }];
  if (access === 'metrics') return [{ monitoringToken: [] }, { metricsToken: [] }];
  return [];
}

function operation(route: MountedRoute) {
  const { spec } = route;
  const key = `${route.method} ${route.path}`;
  const request = spec.request ?? {};
  const protectedRoute = spec.access !== 'public';
  const responses: Record<string, unknown> = { [spec.response.status]: success(spec) };
  if (request.body || request.query || request.params) responses['400'] = problem('Invalid input (VALIDATION_FAILED and others)');
  if (protectedRoute) {
    responses['401'] = problem(spec.stepUp ? 'Missing or invalid access token, or REAUTHENTICATION_REQUIRED: no authentication in the last 5 minutes (see methods)' : 'Missing or invalid access token');
  }
  const roleLimited = typeof spec.access === 'object' || spec.access === 'monitoring' || spec.access === 'metrics';
  const refusedDuringEnrolment = protectedRoute && !spec.duringEnrolment;
  const refusedWithoutConsent = protectedRoute && !spec.withoutConsent;
  if (roleLimited || refusedDuringEnrolment || refusedWithoutConsent) {
    const reasons = [
      roleLimited && 'The caller’s role is not allowed',
      refusedDuringEnrolment && 'MFA_ENROLMENT_REQUIRED: the session may only enrol a second factor',
      refusedWithoutConsent && 'CONSENT_REQUIRED: the current version of a document in force is not accepted (see documents)',
    ];
    responses['403'] = problem(reasons.filter(Boolean).join('; '));
  }
  if (request.params) responses['404'] = problem('Not found (or not visible to the caller)');
  responses['429'] = problem('Rate limited; see Retry-After');
  responses['503'] = problem('Temporarily unavailable (DATABASE_UNAVAILABLE, BUSY while sign-ins are shed, NOT_READY); see Retry-After');
  responses.default = problem('Unexpected error');
  return {
    operationId: key.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, ''),
    summary: spec.summary,
    ...(spec.description && { description: spec.description }),
    tags: [spec.tag ?? 'Other'],
    parameters: [
      ...parameters(request.params, 'path'),
      ...parameters(request.query, 'query'),
      ...(spec.headers ?? []).map(({ name, description }) => ({ name, in: 'header', required: false, description, schema: { type: 'string' } })),
    ],
    ...(request.body && { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(request.body, 'input') } } } }),
    ...(protectedRoute && { security: [{ bearerAuth: [] }, ...serviceTokens(spec.access)] }),
    responses,
  };
}

/** OpenAPI 3.1 from the route declarations: the same zod schemas the routes validate with and answer in. */
export function buildOpenApiDocument(routes: MountedRoute[]) {
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
      description:
        'Counseling and coaching platform API. Errors are RFC 9457 problems with a stable `code` and the `requestId`. ' +
        'Session content (entry text, counselor notes, feedback comments) is need-to-know: the client and the counselor in their care read it; ' +
        'an organization’s staff and platform admins see metadata and aggregates, platform admins content only through break-glass (POST /api/admin/sessions/{id}/access).',
    },
    // Relative: "Try it" calls the origin the page was opened on (localhost, 127.0.0.1 or the
    // public name), which is also the only one the docs page's CSP lets it reach.
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'EdDSA access token from POST /api/auth/login' },
        monitoringToken: { type: 'http', scheme: 'bearer', description: 'The MONITORING_TOKEN (error statistics and metrics only)' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'The METRICS_TOKEN (GET /metrics only)' },
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
