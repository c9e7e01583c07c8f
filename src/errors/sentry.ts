import { hostname } from 'node:os';
import * as Sentry from '@sentry/core';
import type { BaseTransportOptions, Breadcrumb, ErrorEvent, Transport } from '@sentry/core';
import { nodeStackLineParser, ServerRuntimeClient, type ServerRuntimeClientOptions } from '@sentry/core/server';
import type { Config } from '../config/env.js';
import type { ErrorReporter } from './error-handler.js';
import type { Logger } from '../infra/logger.js';
import { version } from '../infra/version.js';

const REDACTED = '[redacted]';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SECRET_PATTERNS: RegExp[] = [
  /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, // email addresses
  /\bBearer\s+[A-Za-z0-9._~+/-]+=*/gi,
  /\beyJ[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*){0,2}/g, // JWTs and their fragments
  /\b(?:password|passwd|secret|token|api[_-]?key)\s*[=:]\s*\S+/gi,
];
/** Long opaque strings with letters and digits: keys, refresh and one-time tokens. */
const LONG_SECRET = /[A-Za-z0-9_-]{32,}={0,2}/g;

export function redact(text: string): string {
  let result = text;
  for (const pattern of SECRET_PATTERNS) result = result.replace(pattern, REDACTED);
  return result.replace(LONG_SECRET, (match) =>
    UUID.test(match) || !/\d/.test(match) || !/[A-Za-z]/.test(match) ? match : REDACTED,
  );
}

function redactDeep<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redact(value) as T;
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item: unknown) => redactDeep(item, depth + 1)) as T;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactDeep(item, depth + 1)])) as T;
}

function scrubBreadcrumb(breadcrumb: Breadcrumb): Breadcrumb {
  return { ...breadcrumb, message: breadcrumb.message && redact(breadcrumb.message), data: redactDeep(breadcrumb.data) };
}

/**
 * The last line of defence: no integration that collects requests is installed, but
 * anything that does reach an event leaves without bodies, cookies, headers, query
 * strings, user fields, emails or tokens.
 */
export function scrubEvent(event: ErrorEvent): ErrorEvent {
  if (event.request) {
    const url = event.request.url?.split(/[?#]/)[0];
    event.request = { method: event.request.method, url: url && redact(url) };
  }
  delete event.user;
  if (event.message) event.message = redact(event.message);
  if (event.logentry) event.logentry = redactDeep(event.logentry);
  for (const exception of event.exception?.values ?? []) {
    if (exception.value) exception.value = redact(exception.value);
    for (const frame of exception.stacktrace?.frames ?? []) delete frame.vars;
  }
  if (event.breadcrumbs) event.breadcrumbs = event.breadcrumbs.map(scrubBreadcrumb);
  if (event.extra) event.extra = redactDeep(event.extra);
  if (event.contexts) {
    const { trace, ...others } = event.contexts; // trace and span ids are long hex, not secrets
    event.contexts = { ...redactDeep(others), ...(trace && { trace }) };
  }
  return event;
}

/** Waits for the ingest endpoint this long at most; flushSentry bounds shutdown on top. */
const SEND_TIMEOUT_MS = 10_000;

/**
 * Envelopes go out with Node's fetch. createTransport does the buffering, rate limits and
 * dropped-event accounting; the request itself is all a transport adds.
 */
function makeFetchTransport(options: BaseTransportOptions): Transport {
  return Sentry.createTransport(options, async ({ body }) => {
    const response = await fetch(options.url, {
      method: 'POST',
      headers: options.headers,
      body,
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    await response.arrayBuffer().catch(() => undefined); // frees the connection for reuse
    return {
      statusCode: response.status,
      headers: {
        'x-sentry-rate-limits': response.headers.get('x-sentry-rate-limits'),
        'retry-after': response.headers.get('retry-after'),
      },
    };
  });
}

/**
 * Starts Sentry when SENTRY_DSN is set and returns the reporter for ErrorHandler.addReporter;
 * without a DSN it does nothing and returns undefined. Sentry's client is process-global.
 */
export function initSentry(config: Config, logger: Logger): ErrorReporter | undefined {
  if (!config.sentryDsn) return undefined;
  const release = config.commit === 'unknown' ? `confidant@${version}` : `confidant@${version}+${config.commit}`;
  // @sentry/core's server client rather than @sentry/node: the Node SDK adds OpenTelemetry,
  // auto-instrumentation and bundler tooling (the Sentry CLI among them), none of which runs
  // here, and would weigh about 95 MB in the image.
  const options: ServerRuntimeClientOptions = {
    dsn: config.sentryDsn,
    platform: 'node',
    runtime: { name: 'node', version: process.version },
    serverName: hostname(),
    transport: makeFetchTransport,
    stackParser: Sentry.createStackParser(nodeStackLineParser()),
    environment: config.env,
    release,
    // v11 replaced sendDefaultPii with per-category switches; every one is off.
    dataCollection: {
      userInfo: false,
      cookies: false,
      httpHeaders: false,
      httpBodies: [],
      urlQueryParams: false,
      graphQL: { document: false, variables: false },
      genAI: { inputs: false, outputs: false },
      mcp: { inputs: false, outputs: false },
      databaseQueryData: false,
      queues: false,
      stackFrameVariables: false,
      frameContextLines: 0,
    },
    // Errors arrive only through the reporter: no request, console or process hooks, no
    // load-time patching of Express, no tracing (nor span streaming), no client-report envelopes.
    integrations: [Sentry.linkedErrorsIntegration()],
    tracesSampleRate: 0,
    traceLifecycle: 'static',
    sendClientReports: false,
    beforeSend: scrubEvent,
    beforeBreadcrumb: scrubBreadcrumb,
  };
  Sentry.applySdkMetadata(options, 'core');
  Sentry.initAndBind(ServerRuntimeClient, options);
  logger.info('error reporting to Sentry enabled', { environment: config.env, release });

  return (error, { requestId, route }) => {
    if (error.status < 500) return;
    Sentry.captureException(error.cause ?? error, (scope) =>
      scope
        .setTag('request_id', requestId ?? 'none')
        .setTag('route', route)
        .setTag('status', String(error.status))
        .setTag('code', error.code),
    );
  };
}

/** Waits up to timeoutMs for queued events; true when everything was sent. */
export function flushSentry(timeoutMs: number): Promise<boolean> {
  return Sentry.isInitialized() ? Sentry.flush(timeoutMs) : Promise.resolve(true);
}
