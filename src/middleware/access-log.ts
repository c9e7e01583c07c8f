import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import type { Logger } from '../infra/logger.js';
import morgan from 'morgan';

/**
 * The path as it may be logged: auth routes and export download links keep their query keys
 * but lose the values (they can carry tokens). Headers, cookies and bodies are never logged at all.
 */
export function loggablePath(originalUrl: string): string {
  const [path = '/', query] = originalUrl.split('?', 2);
  if (query === undefined) return path;
  if (!path.startsWith('/api/auth') && !path.startsWith('/api/exports')) return `${path}?${query}`;
  const keys = query
    .split('&')
    .map((pair) => pair.split('=', 1)[0])
    .filter(Boolean);
  return `${path}?${keys.map((key) => `${key}=[redacted]`).join('&')}`;
}

/** Later middleware (authentication) records who the caller is here, for the log line. */
export function userIdOf(res: ServerResponse): string | undefined {
  return (res as unknown as { locals?: { userId?: string } }).locals?.userId;
}

function lineFields(tokens: morgan.TokenIndexer<IncomingMessage, ServerResponse>, req: IncomingMessage, res: ServerResponse) {
  const request = req as Request;
  return {
    requestId: request.id,
    method: request.method,
    path: loggablePath(request.originalUrl),
    status: res.headersSent ? res.statusCode : undefined,
    length: Number(res.getHeader('content-length')) || 0,
    durationMs: Number(tokens['response-time']?.(req, res)) || undefined,
    userId: userIdOf(res),
  };
}

/**
 * One line per request, written by the app's logger (pino): the same output, redaction and
 * asynchronous writes as every other line. morgan only times the request and calls us when
 * the response is done; the format returns nothing, so morgan itself writes nothing.
 */
export function accessLog(logger: Logger): RequestHandler {
  return morgan<IncomingMessage, ServerResponse>((tokens, req, res) => {
    logger.info('request', lineFields(tokens, req, res));
    return undefined;
  });
}
