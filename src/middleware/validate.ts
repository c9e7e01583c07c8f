import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { AppError } from '../errors/app-error.js';
import { zodToAppError } from '../errors/to-app-error.js';

export interface RequestSchemas {
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
}

export interface Validated {
  params: unknown;
  query: unknown;
  body: unknown;
}

/** The validated input of the current request, typed by the route's schemas. */
export function validated<S extends RequestSchemas>(res: Response, _schemas?: S) {
  return res.locals.validated as {
    params: S['params'] extends z.ZodType ? z.output<S['params']> : undefined;
    query: S['query'] extends z.ZodType ? z.output<S['query']> : undefined;
    body: S['body'] extends z.ZodType ? z.output<S['body']> : undefined;
  };
}

function hasBody(req: Request): boolean {
  return Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
}

/**
 * One validator for params, query and body. Parsed values go to `res.locals.validated`
 * (Express 5's `req.query` is a getter and must not be reassigned).
 */
export function validate(schemas: RequestSchemas) {
  return Object.assign(validateRequest, { schemas }); // `schemas` also feeds the OpenAPI document

  function validateRequest(req: Request, res: Response, next: NextFunction): void {
    if (schemas.body && hasBody(req) && !req.is(['application/json', 'application/*+json'])) {
      throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported media type', {
        detail: 'Send the body as application/json.',
      });
    }
    const result: Validated = { params: undefined, query: undefined, body: undefined };
    for (const part of ['params', 'query', 'body'] as const) {
      const schema = schemas[part];
      if (!schema) continue;
      const parsed = schema.safeParse(req[part] ?? (part === 'body' ? {} : undefined));
      if (!parsed.success) throw zodToAppError(parsed.error, part);
      result[part] = parsed.data;
    }
    res.locals.validated = result;
    next();
  }
}
