import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The Prometheus metrics of one app: its own registry (several apps in one process, as in
 * the tests, never share counters) with the process and event-loop collectors, and the
 * instruments the pipeline and the infrastructure feed. Every label value comes from a
 * small fixed set (methods, declared route templates, status codes, tiers, event types):
 * never a path, an id, an email or an address.
 */
export const UNMATCHED_ROUTE = '(unmatched)';
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type QueryErrorKind = 'connection' | 'timeout' | 'constraint' | 'other';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const requestDuration = new Histogram({
    name: 'confidant_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route template and status class',
    labelNames: ['method', 'route', 'status_class'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const requests = new Counter({
    name: 'confidant_http_requests_total',
    help: 'HTTP requests answered, by method, route template, status class and status',
    labelNames: ['method', 'route', 'status_class', 'status'] as const,
    registers,
  });
  const rateLimitRefusals = new Counter({
    name: 'confidant_rate_limit_refusals_total',
    help: 'Requests refused with 429 by a rate-limit tier',
    labelNames: ['tier'] as const,
    registers,
  });
  const queryErrors = new Counter({
    name: 'confidant_db_query_errors_total',
    help: 'Database queries that failed, by kind (connection, timeout, constraint, other)',
    labelNames: ['kind'] as const,
    registers,
  });
  for (const tier of ['global', 'write', 'auth']) rateLimitRefusals.inc({ tier }, 0);
  for (const kind of ['connection', 'timeout', 'constraint', 'other']) queryErrors.inc({ kind }, 0);

  return {
    registry,
    /** Called once per answered request, with the declared template of the route that matched. */
    observeRequest(method: string, route: string | undefined, status: number, seconds: number): void {
      const labels = { method: METHODS.has(method) ? method : 'OTHER', route: route ?? UNMATCHED_ROUTE, status_class: `${Math.floor(status / 100)}xx` };
      requestDuration.observe(labels, seconds);
      requests.inc({ ...labels, status: String(status) });
    },
    rateLimited(tier: 'global' | 'write' | 'auth'): void {
      rateLimitRefusals.inc({ tier });
    },
    queryFailed(kind: QueryErrorKind): void {
      queryErrors.inc({ kind });
    },
    /** A counter whose label values the caller fixes up front (and which starts at zero for each). */
    counter<L extends string>(name: string, help: string, label: L, values: readonly string[]) {
      const counter = new Counter({ name, help, labelNames: [label], registers });
      for (const value of values) counter.inc({ [label]: value } as Record<L, string>, 0);
      return (value: string) => counter.inc({ [label]: value } as Record<L, string>);
    },
    /** A gauge read when Prometheus scrapes; NaN when the reading failed (the database did not answer, say). */
    gauge(name: string, help: string, read: () => number | Promise<number>): void {
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          try {
            this.set(await read());
          } catch {
            this.set(Number.NaN);
          }
        },
      });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
