import type { Request } from 'express';
import type { Metrics } from '../infra/metrics.js';
import type { RequestRecorder } from './record-requests.js';

/**
 * The route a request matched, as its template: the declaration's full path where the
 * route table served it (set before its guards run, so refusals count under the route),
 * else Express's own pattern; never the raw path.
 */
function routeTemplate(req: Request): string | undefined {
  if (req.routeTemplate) return req.routeTemplate;
  const pattern = (req.route as { path?: unknown } | undefined)?.path;
  return typeof pattern === 'string' ? `${req.baseUrl}${pattern}` : undefined;
}

/** Counts every answered request and its duration (a client that went away got no answer to count). */
export function httpMetrics(metrics: Metrics): RequestRecorder {
  return function measureRequest(req, res, seconds) {
    if (res.writableFinished) metrics.observeRequest(req.method, routeTemplate(req), res.statusCode, seconds);
  };
}
