import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { Logger } from './logger.js';

/**
 * OpenTelemetry hooks: spans around request handling and database calls, through the API
 * package only. Without an SDK the API hands out no-op spans, so this costs next to nothing;
 * `startTracing` starts the SDK when OTEL_EXPORTER_OTLP_ENDPOINT is set and the optional
 * package `@opentelemetry/sdk-node` is installed (docs/OPERATIONS.md §7.3).
 */
export const tracer = trace.getTracer('confidant');
export { SpanKind, SpanStatusCode, type Span };

/** Runs `work` inside a span that ends with it, marked as an error when it throws. */
export async function inSpan<T>(name: string, attributes: Record<string, string>, kind: SpanKind, work: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).name });
      throw error;
    } finally {
      span.end();
    }
  });
}

interface NodeSdk {
  start(): void;
  shutdown(): Promise<void>;
}

const SDK_PACKAGE = '@opentelemetry/sdk-node';

/**
 * Starts the OpenTelemetry SDK when an OTLP endpoint is configured; the SDK reads the
 * standard OTEL_* variables itself. Returns its shutdown (which sends the last spans).
 */
export async function startTracing(otlpEndpoint: string | undefined, logger: Logger): Promise<() => Promise<void>> {
  if (!otlpEndpoint) return async () => undefined;
  let sdk: NodeSdk;
  try {
    const { NodeSDK } = (await import(SDK_PACKAGE)) as { NodeSDK: new (options: { serviceName: string }) => NodeSdk };
    sdk = new NodeSDK({ serviceName: 'confidant' });
    sdk.start();
  } catch (error) {
    logger.warn(`OTEL_EXPORTER_OTLP_ENDPOINT is set but ${SDK_PACKAGE} could not be started; tracing stays off (npm install ${SDK_PACKAGE})`, { error: (error as Error).message });
    return async () => undefined;
  }
  logger.info('tracing on: spans go to the OTLP endpoint', { endpoint: new URL(otlpEndpoint).origin });
  return () => sdk.shutdown().catch(() => undefined);
}
