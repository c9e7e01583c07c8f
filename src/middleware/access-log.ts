import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import morgan from 'morgan';
import type { Config } from '../config/env.js';
import { processLogSink, type LogSink } from '../infra/log-sink.js';

/**
 * The path as it may be logged: auth routes keep their query keys but lose the values
 * (they can carry tokens). Headers, cookies and bodies are never logged at all.
 */
export function loggablePath(originalUrl: string): string {
  const [path = '/', query] = originalUrl.split('?', 2);
  if (query === undefined) return path;
  if (!path.startsWith('/api/auth')) return `${path}?${query}`;
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

/** One line per request on stdout: JSON in production, a short line in development. */
export function accessLog(config: Config, sink: LogSink = processLogSink()): RequestHandler {
  const quiet = ['silent', 'warn', 'error'].includes(config.log.level);
  return morgan<IncomingMessage, ServerResponse>(
    (tokens, req, res) => {
      const fields = lineFields(tokens, req, res);
      if (config.log.format === 'json') return JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: 'request', ...fields });
      return `${fields.method} ${fields.path} ${fields.status ?? '-'} ${fields.length}b ${fields.durationMs ?? '-'}ms id=${fields.requestId}${fields.userId ? ` user=${fields.userId}` : ''}`;
    },
    { skip: () => quiet, stream: { write: (line: string) => sink.write('out', line) } },
  );
}
