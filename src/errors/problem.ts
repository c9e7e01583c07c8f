import type { AppError } from './app-error.js';

function typeUri(code: string): string {
  return `urn:confidant:problem:${code.toLowerCase().replace(/_/g, '-')}`;
}

/**
 * The RFC 9457 body. A 5xx never carries the exception's message, stack, SQL or
 * paths; development may add them under `debug`.
 */
export function problemBody(error: AppError, requestId: string | undefined, exposeDebug: boolean) {
  const body: Record<string, unknown> = {
    type: typeUri(error.code),
    title: error.title,
    status: error.status,
    detail: error.detail,
    code: error.code,
    requestId,
    ...error.extensions,
  };
  if (error.errors) body.errors = error.errors;
  if (exposeDebug && error.status >= 500) {
    const cause = error.cause instanceof Error ? error.cause : error;
    body.debug = { message: cause.message, stack: cause.stack };
  }
  return body;
}
