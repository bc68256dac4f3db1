/**
 * Wire types of the runner ↔ coordinator HTTP API (one place for both sides).
 *
 *   POST  /api/v1/runners/register   RegisterRunnerRequest → 201 RegisterRunnerResponse
 *   POST  /api/v1/runners/heartbeat  HeartbeatRequest      → 200 HeartbeatResponse
 *   POST  /api/v1/jobs/request       JobRequest (long-poll ≤ 30 s) → 201 JobPayload | 204
 *   PUT   /api/v1/jobs/:id           JobUpdateRequest      → 200 JobUpdateResponse
 *   PATCH /api/v1/jobs/:id/trace     raw bytes, headers `Job-Token`, `Content-Range: <start>-<end>`
 *                                    → 202 TraceAppendResponse | 416 {error, offset}
 *   PUT   /api/v1/jobs/:id/artifacts/:kind  a zip (streamed, chunked), header `Job-Token`;
 *                                    kind = archive | a report kind (junit, dotenv, …)
 *                                    → 201 ArtifactUploadResponse | 413 {error, limit} | 400
 *                                    (a retried PUT replaces the earlier upload: idempotent)
 *   GET   /api/v1/jobs/:id/artifacts header `Job-Token` of a job of the same pipeline → the zip
 *
 * Runner token: header `Runner-Token` (register/heartbeat/request).
 * Job token: header `Job-Token` (update/trace) — a runner can touch only its own jobs.
 */
import type { FailureReason, FailureStage } from './failure.js';
import type { ArtifactsSpec, CacheSpec, ImageSpec, Interruptible, ServiceSpec } from './job-spec.js';

export interface RegisterRunnerRequest {
  registration_token: string;
  name: string;
  tags: string[];
  run_untagged?: boolean;
  executor: string;
  concurrency: number;
  /**
   * The machine the runner runs on and its faultline version. A runner registering again with
   * the same name and host replaces its earlier record. Absent from older runners (no dedupe).
   */
  host?: string;
  version?: string;
}
export interface RegisterRunnerResponse {
  id: number;
  token: string;
}

export interface HeartbeatRequest {
  /** Jobs this runner is running right now (including in teardown). */
  running_job_ids: number[];
}
export interface HeartbeatResponse {
  /** Jobs the coordinator wants stopped. */
  cancel_job_ids: number[];
}

export interface JobRequest {
  /** How many more jobs the runner can take now (≥1). */
  capacity?: number;
}

export interface JobPayloadVariable {
  key: string;
  value: string;
  masked: boolean;
  /** `expand: false`: the runner passes the value as written (no `$VAR` expansion). */
  raw?: boolean;
}

export interface JobPayload {
  id: number;
  token: string;
  pipeline_id: number;
  name: string;
  stage: string;
  attempt: number;
  image: ImageSpec | null;
  /** `services:`; absent from older coordinators = none. */
  services?: ServiceSpec[];
  /** `cache:`; absent = none. */
  cache?: CacheSpec[];
  /** `hooks: pre_get_sources_script`: run in get_sources before the checkout (not with GIT_STRATEGY none); absent = none. */
  hooks?: { pre_get_sources_script: string[] };
  before_script: string[];
  script: string[];
  after_script: string[];
  /** Global + job + pipeline variables and CI_* predefined ones. */
  variables: JobPayloadVariable[];
  timeout_seconds: number;
  after_script_timeout_seconds: number;
  interruptible: Interruptible;
  /** Grace period between SIGTERM and SIGKILL on cancel/timeout. */
  cancel_grace_seconds: number;
  repository: { url: string; sha: string | null; ref: string } | null;
  git: { strategy: 'clone' | 'fetch' | 'none'; depth: number | null };
  /** W3C trace context of the job span, so runner spans are its children. */
  trace_context: { traceparent: string; tracestate?: string } | null;
  /** Where the trace should continue from (0 for a fresh job). */
  trace_offset: number;
  /** What to collect and upload after after_script; null/absent = nothing. */
  artifacts?: ArtifactsSpec | null;
  /** Jobs whose artifacts to download before the script (see JobSpec.artifact_dependencies). */
  dependencies?: ArtifactDependency[];
  /**
   * Which script failures end the pipeline early on purpose (`on_status: pass_pipeline`): the
   * runner then says so instead of "ERROR: Job failed". Absent = none does.
   */
  early_pass?: { on_failure: boolean; exit_codes: Record<string, boolean> };
}

export interface ArtifactDependency {
  job_id: number;
  name: string;
  /**
   * available: download it; none: that job kept no archive (nothing to do);
   * missing: it had one but it is gone (expired, erased) → missing_dependency_failure.
   */
  artifacts: 'available' | 'none' | 'missing';
  size: number | null;
}

export interface ArtifactUploadResponse {
  kind: string;
  size: number;
  files: number;
}

/** One pull attempt, reported for metrics and infra-incident tracking. */
export interface ImagePullRecord {
  image: string;
  registry: string;
  policy: string;
  outcome: 'success' | 'failure' | 'local';
  kind: string | null; // ImagePullError kind on failure
  duration_ms: number;
  at: string; // ISO time
}

export type JobUpdateState = 'running' | 'success' | 'failed' | 'canceled';

export interface JobUpdateRequest {
  state: JobUpdateState;
  exit_code?: number | null;
  failure?: {
    reason: FailureReason;
    stage: FailureStage;
    message: string | null;
    executor: string | null;
    image: string | null;
    registry: string | null;
    kind?: string | null;
  } | null;
  /** Filled when the final state follows a cancel or timeout under `interruptible: graceful`. */
  after_script?: { ran: boolean; exit_code: number | null; timed_out: boolean } | null;
  /** Cause of stopping, when the runner stopped the job itself. */
  stopped_by?: 'cancel' | 'timeout' | null;
  image_pulls?: ImagePullRecord[];
  /** Per-stage timings, for spans: [{stage, start, end, attrs}] */
  stages?: Array<{ stage: string; start: string; end: string; attributes?: Record<string, string | number | boolean> }>;
  /** Total trace bytes the runner has sent; the coordinator can tell the runner to resend from its offset. */
  trace_bytes?: number;
}

export interface JobUpdateResponse {
  /** The coordinator's view after the update. */
  status: string;
  /** True when the runner should stop the job (gracefully if the job is graceful). */
  cancel_requested: boolean;
}

export interface TraceAppendResponse {
  offset: number;
}
