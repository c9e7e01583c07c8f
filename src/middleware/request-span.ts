import { context, propagation, trace } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import { SpanKind, SpanStatusCode, tracer } from '../infra/tracing.js';

/**
 * A server span around each request, continuing the caller's trace from its `traceparent`
 * header; named by the route template when it ends. Without an OpenTelemetry SDK (or when
 * the sampler drops the trace) the span records nothing, so nothing more is done for it.
 */
export function requestSpan(): RequestHandler {
  return function traceRequest(req, res, next) {
    const parent = propagation.extract(context.active(), req.headers);
    const span = tracer.startSpan(req.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method } }, parent);
    if (!span.isRecording()) {
      next();
      return;
    }
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
    context.with(trace.setSpan(parent, span), next);
  };
}
