/**
 * CI spans on the coordinator: one SERVER span per pipeline run (`RUN <name>`), one
 * INTERNAL span per job run as its child. The job span's context goes to the runner in
 * the job payload so the runner's stage spans become its children, across hosts.
 * Attribute names come from the OTel CI/CD semantic conventions.
 */
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import {
  ATTR_CICD_PIPELINE_NAME,
  ATTR_CICD_PIPELINE_RESULT,
  ATTR_CICD_PIPELINE_RUN_ID,
  ATTR_CICD_PIPELINE_RUN_URL_FULL,
  ATTR_CICD_PIPELINE_TASK_NAME,
  ATTR_CICD_PIPELINE_TASK_RUN_ID,
  ATTR_CICD_PIPELINE_TASK_RUN_RESULT,
  ATTR_CICD_PIPELINE_TASK_RUN_URL_FULL,
  ATTR_CICD_WORKER_ID,
  ATTR_CICD_WORKER_NAME,
} from '@opentelemetry/semantic-conventions/incubating';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { JobJson, PipelineJson } from '../protocol/user-api.js';
import { FINISHED_JOB_STATUSES, type FinishedJobStatus } from './metric-names.js';
import { cicdPipelineResult } from './metrics.js';

export const ATTR_FAULTLINE_FAILURE_CLASS = 'faultline.failure.class';
export const ATTR_FAULTLINE_FAILURE_CAUSE = 'faultline.failure.cause';

type Result = ReturnType<typeof cicdPipelineResult>;
const FINISHED: ReadonlySet<string> = new Set(FINISHED_JOB_STATUSES);

/** success / failure (= build) / error (= infrastructure) / timeout / cancellation / skip. */
export function jobResult(job: Pick<JobJson, 'status' | 'failure'>): Result {
  if (!FINISHED.has(job.status)) return 'failure';
  return cicdPipelineResult({
    status: job.status as FinishedJobStatus,
    failureClass: job.failure?.class ?? null,
    timedOut: job.failure?.reason === 'job_execution_timeout',
  });
}

export function pipelineResult(p: Pick<PipelineJson, 'status' | 'failure_class'>): Result {
  if (!FINISHED.has(p.status)) return 'failure';
  return cicdPipelineResult({ status: p.status as FinishedJobStatus, failureClass: p.failure_class });
}

const ms = (iso: string | null | undefined): number | undefined => (iso ? Date.parse(iso) : undefined);

/** How many ended pipeline spans to remember, so late job spans still find their parent. */
const ENDED_KEEP = 1000;

export class CiSpans {
  private readonly pipelines = new Map<number, Span>();
  private readonly jobs = new Map<number, Span>();
  /** pipeline_finished can precede the last job_finished (the engine step comes first). */
  private readonly ended = new Map<number, SpanContext>();
  private readonly base: () => string;

  constructor(
    private readonly tracer: Tracer,
    /** The coordinator's public URL (a function: it is known only once the server listens). */
    baseUrl: string | (() => string),
  ) {
    this.base = typeof baseUrl === 'string' ? () => baseUrl : baseUrl;
  }

  /** Spans started and not yet ended (pipelines, jobs), for tests and leak checks. */
  get openSpans(): { pipelines: number; jobs: number } {
    return { pipelines: this.pipelines.size, jobs: this.jobs.size };
  }

  private pipelineSpan(p: { id: number; name: string; created_at: string }): Span {
    let span = this.pipelines.get(p.id);
    if (!span) {
      span = this.tracer.startSpan(`RUN ${p.name}`, {
        kind: SpanKind.SERVER,
        startTime: ms(p.created_at),
        attributes: {
          [ATTR_CICD_PIPELINE_NAME]: p.name,
          [ATTR_CICD_PIPELINE_RUN_ID]: String(p.id),
          [ATTR_CICD_PIPELINE_RUN_URL_FULL]: `${this.base()}/#/pipelines/${p.id}`,
        },
      });
      this.pipelines.set(p.id, span);
    }
    return span;
  }

  private jobSpan(
    p: { id: number; name: string; created_at: string },
    job: { id: number; name: string; started_at?: string | null; created_at?: string | null },
  ): Span {
    let span = this.jobs.get(job.id);
    if (!span) {
      const endedParent = this.ended.get(p.id);
      const parent = endedParent
        ? trace.setSpanContext(context.active(), endedParent)
        : trace.setSpan(context.active(), this.pipelineSpan(p));
      span = this.tracer.startSpan(
        job.name,
        {
          kind: SpanKind.INTERNAL,
          startTime: ms(job.started_at) ?? ms(job.created_at) ?? Date.now(),
          attributes: {
            [ATTR_CICD_PIPELINE_NAME]: p.name,
            [ATTR_CICD_PIPELINE_RUN_ID]: String(p.id),
            [ATTR_CICD_PIPELINE_TASK_NAME]: job.name,
            [ATTR_CICD_PIPELINE_TASK_RUN_ID]: String(job.id),
            [ATTR_CICD_PIPELINE_TASK_RUN_URL_FULL]: `${this.base()}/#/jobs/${job.id}`,
          },
        },
        parent,
      );
      this.jobs.set(job.id, span);
    }
    return span;
  }

  /** At dispatch: starts the job span and returns its W3C context for the payload. */
  jobDispatched(
    p: { id: number; name: string; created_at: string },
    job: { id: number; name: string; started_at?: string | null },
    runner: { id: number; name: string },
  ): { traceparent: string; tracestate?: string } | null {
    const span = this.jobSpan(p, job);
    span.setAttributes({ [ATTR_CICD_WORKER_ID]: String(runner.id), [ATTR_CICD_WORKER_NAME]: runner.name });
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), span), carrier);
    return carrier.traceparent ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate } : null;
  }

  jobFinished(p: { id: number; name: string; created_at: string }, job: JobJson): void {
    const span = this.jobSpan(p, job);
    this.jobs.delete(job.id);
    const result = jobResult(job);
    span.setAttribute(ATTR_CICD_PIPELINE_TASK_RUN_RESULT, result);
    if (job.failure) {
      span.setAttributes({
        [ATTR_ERROR_TYPE]: job.failure.reason,
        [ATTR_FAULTLINE_FAILURE_CLASS]: job.failure.class,
        [ATTR_FAULTLINE_FAILURE_CAUSE]: job.failure.cause,
      });
      span.setStatus({ code: SpanStatusCode.ERROR, message: job.failure.summary });
    }
    span.end(ms(job.finished_at) ?? Date.now());
  }

  pipelineFinished(p: PipelineJson): void {
    // Finished again after a retry: its span already ended; retried jobs hang under it.
    if (!this.pipelines.has(p.id) && this.ended.has(p.id)) return;
    const span = this.pipelineSpan(p);
    this.pipelines.delete(p.id);
    this.ended.set(p.id, span.spanContext());
    if (this.ended.size > ENDED_KEEP) this.ended.delete(this.ended.keys().next().value!);
    const result = pipelineResult(p);
    span.setAttribute(ATTR_CICD_PIPELINE_RESULT, result);
    if (p.failure_class) span.setAttribute(ATTR_FAULTLINE_FAILURE_CLASS, p.failure_class);
    if (result === 'error' || result === 'failure') span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(ms(p.finished_at) ?? Date.now());
  }
}
