/**
 * Runner-side stage spans (prepare_executor, pull_image per attempt, get_sources,
 * step_script, after_script, cleanup), children of the coordinator's job span through
 * the W3C context carried in the job payload.
 */
import { context, propagation, SpanKind, type Tracer } from '@opentelemetry/api';
import type { JobPayload } from '../protocol/runner-api.js';

export function recordStageSpan(
  tracer: Tracer,
  job: Pick<JobPayload, 'trace_context' | 'id' | 'name'>,
  stage: string,
  start: Date,
  end: Date,
  attributes: Record<string, string | number | boolean> = {},
): void {
  const parent = job.trace_context
    ? propagation.extract(context.active(), {
        traceparent: job.trace_context.traceparent,
        ...(job.trace_context.tracestate ? { tracestate: job.trace_context.tracestate } : {}),
      })
    : context.active();
  const span = tracer.startSpan(
    stage,
    { kind: SpanKind.INTERNAL, startTime: start, attributes: { 'faultline.stage': stage, ...attributes } },
    parent,
  );
  span.end(end);
}
