import { context, propagation } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import { SpanKind, SpanStatusCode, tracer } from '../infra/tracing.js';

/**
 * A server span around each request (no-op without an OpenTelemetry SDK), continuing the
 * caller's trace from its `traceparent` header; named by the route template when it ends.
 */
export function requestSpan(): RequestHandler {
  return function traceRequest(req, res, next) {
    const parent = propagation.extract(context.active(), req.headers);
    tracer.startActiveSpan(`${req.method}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method } }, parent, (span) => {
      res.once('finish', () => {
        const route = req.routeTemplate;
        if (route) {
          span.updateName(`${req.method} ${route}`);
          span.setAttribute('http.route', route);
        }
        span.setAttribute('http.response.status_code', res.statusCode);
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      });
      next();
    });
  };
}
