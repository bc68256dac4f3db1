/**
 * OpenTelemetry set-up. Off by default and free when off: without an OTLP endpoint
 * (OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and without an
 * exporter passed in, no SDK starts and the API's no-op tracer is used.
 * Auto-instrumentation of HTTP is opt-in (FAULTLINE_OTEL_INSTRUMENTATIONS=http) so that
 * faultline's CI spans are not drowned by one span per runner poll.
 */
import { trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';

/** Opt-in auto-instrumentations, named in FAULTLINE_OTEL_INSTRUMENTATIONS (comma-separated). */
export function optInInstrumentations(env: NodeJS.ProcessEnv = process.env): HttpInstrumentation[] {
  const names = new Set(
    (env.FAULTLINE_OTEL_INSTRUMENTATIONS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  for (const n of names) if (n !== 'http') throw new Error(`FAULTLINE_OTEL_INSTRUMENTATIONS: unknown instrumentation "${n}" (known: http)`);
  return names.has('http') ? [new HttpInstrumentation()] : [];
}

export interface Tracing {
  enabled: boolean;
  tracer: Tracer;
  /** True for the one call that started the SDK; only that owner's shutdown() stops it. */
  owner: boolean;
  /** Flushes and stops the SDK (owner only; a no-op for the other callers). */
  shutdown(): Promise<void>;
}

export function otlpConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

let active: Tracing | null = null;

/**
 * Starts tracing once per process. `exporter` (tests) exports synchronously; otherwise
 * OTLP/HTTP from the standard OTEL_* variables, batched.
 */
export function initTracing(serviceName: string, exporter?: SpanExporter): Tracing {
  // Several services in one process (tests, `faultline up`) share the first SDK.
  if (active) return { ...active, owner: false, shutdown: async () => {} };
  if (!exporter && !otlpConfigured()) {
    return { enabled: false, tracer: trace.getTracer('faultline'), owner: false, shutdown: async () => {} };
  }
  const processor = exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(new OTLPTraceExporter());
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: process.env.OTEL_SERVICE_NAME || serviceName }),
    spanProcessors: [processor],
    instrumentations: [], // opt-in ones are registered by ./instrument.ts before the app loads
  });
  sdk.start();
  const t: Tracing = {
    enabled: true,
    tracer: trace.getTracer('faultline'),
    owner: true,
    shutdown: async () => {
      if (active !== t) return;
      active = null;
      await sdk.shutdown();
    },
  };
  active = t;
  return t;
}
