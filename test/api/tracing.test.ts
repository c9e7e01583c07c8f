import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { userWithToken } from '../helpers/users.js';

/**
 * The tracing hooks with an SDK in the process (what OTEL_EXPORTER_OTLP_ENDPOINT and
 * @opentelemetry/sdk-node set up in production), spans kept in memory instead of exported.
 */
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

describe('OpenTelemetry spans', () => {
  let t: TestApp;
  beforeAll(async () => {
    provider.register();
    t = await createTestApp({ lenientLimits: true });
  });
  afterAll(async () => {
    await t.close();
    await provider.shutdown();
  });

  it('wraps a request in a server span named by its route template, with its queries as child spans, continuing the caller’s trace', async () => {
    const { auth } = await userWithToken(t);
    exporter.reset();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const missing = '6f1c2c1e-7a53-4b0e-9d7e-0c5f2f0a9b11';
    await request(t.app).get(`/api/sessions/${missing}`).set('Authorization', auth).set('traceparent', `00-${traceId}-00f067aa0ba902b7-01`).expect(404);

    const spans = exporter.getFinishedSpans();
    const server = spans.find((span) => span.kind === SpanKind.SERVER);
    expect(server).toBeDefined();
    expect(server!.name).toBe('GET /api/sessions/:id');
    expect(server!.attributes).toMatchObject({ 'http.route': '/api/sessions/:id', 'http.response.status_code': 404, 'http.request.method': 'GET' });
    expect(server!.spanContext().traceId).toBe(traceId);
    const queries = spans.filter((span) => span.kind === SpanKind.CLIENT);
    expect(queries.length).toBeGreaterThan(0);
    expect(queries.every((span) => span.spanContext().traceId === traceId && span.name.startsWith('db '))).toBe(true);
    expect(queries.some((span) => span.parentSpanContext?.spanId === server!.spanContext().spanId)).toBe(true);
    // Only the operation: the statement, which holds values, never becomes an attribute.
    expect(JSON.stringify(queries.map((span) => span.attributes))).not.toContain(missing);
  });
});
