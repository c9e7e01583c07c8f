import type { Request, RequestHandler } from 'express';
import type { Metrics } from '../infra/metrics.js';

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

/** Times every request and counts it when its answer is done, whoever wrote the answer. */
export function httpMetrics(metrics: Metrics): RequestHandler {
  return function measureRequest(req, res, next) {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      metrics.observeRequest(req.method, routeTemplate(req), res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
