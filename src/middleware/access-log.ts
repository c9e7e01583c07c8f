import type { ServerResponse } from 'node:http';
import type { Logger } from '../infra/logger.js';
import type { RequestRecorder } from './record-requests.js';

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

/**
 * One line per request, written by the app's logger (pino): the same output, redaction and
 * asynchronous writes as every other line. `durationMs` runs to the end of the answer, or to
 * the moment the client went away (then `status` is absent if nothing was sent).
 */
export function accessLog(logger: Logger): RequestRecorder {
  return function logRequest(req, res, seconds) {
    logger.info('request', {
      requestId: req.id,
      method: req.method,
      path: loggablePath(req.originalUrl),
      status: res.headersSent ? res.statusCode : undefined,
      length: Number(res.getHeader('content-length')) || 0,
      durationMs: Math.round(seconds * 1e6) / 1e3,
      userId: userIdOf(res),
    });
  };
}
