import { AsyncLocalStorage } from 'node:async_hooks';

interface RequestContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/**
 * Runs the rest of a request's handling with its id in scope, so every log line written
 * while it is handled (in this request's callbacks and promises) carries the id.
 */
export function runWithRequestId<T>(requestId: string, fn: () => T): T {
  return storage.run({ requestId }, fn);
}

/** The id of the request being handled here, if any. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}
