import type { Request } from 'express';
import { AppError } from '../errors/app-error.js';
import { zodToAppError } from '../errors/to-app-error.js';
import type { RequestSchemas, RouteInput } from '../http/route.js';

function hasBody(req: Request): boolean {
  return Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
}

/**
 * Validates params, query and body against a route's zod schemas and returns the parsed
 * values (Express 5's `req.query` is a getter: parsed input travels beside it, never in it).
 */
export function parseInput<S extends RequestSchemas>(req: Request, schemas: S): RouteInput<S> {
  if (schemas.body && hasBody(req) && !req.is(['application/json', 'application/*+json'])) {
    throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported media type', {
      detail: 'Send the body as application/json.',
    });
  }
  const result: Record<'params' | 'query' | 'body', unknown> = { params: undefined, query: undefined, body: undefined };
  for (const part of ['params', 'query', 'body'] as const) {
    const schema = schemas[part];
    if (!schema) continue;
    const parsed = schema.safeParse(req[part] ?? (part === 'body' ? {} : undefined));
    if (!parsed.success) throw zodToAppError(parsed.error, part);
    result[part] = parsed.data;
  }
  return result as RouteInput<S>;
}
