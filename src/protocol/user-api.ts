/**
 * JSON shapes of the user API (served by the coordinator, read by the CLI and the UI).
 *
 *   POST /api/v1/pipelines {yaml, ref?, variables?, project?, repository?: {url, sha?}}
 *        → 201 PipelineJson | 422 ApiError (details: every config problem)
 *   GET  /api/v1/pipelines?limit&offset&ref&status → {pipelines: PipelineJson[] (jobs omitted), total}
 *   GET  /api/v1/pipelines/:id → PipelineJson
 *   POST /api/v1/pipelines/:id/cancel → PipelineJson
 *   GET  /api/v1/jobs/:id → JobJson
 *   POST /api/v1/jobs/:id/play | cancel | retry → JobJson (retry → the new attempt)
 *   GET  /api/v1/jobs/:id/trace?offset= → text/plain (header X-Trace-Complete: true|false)
 *   GET  /api/v1/jobs/:id/artifacts → the archive (application/zip); ?list=true → {files: [{path, size}]}
 *   GET  /api/v1/jobs/:id/artifacts/*path → one file of the archive
 *   GET  /api/v1/failures?class&reason&cause&ref&job&runner&image&since&until&limit&cursor
 *   GET  /api/v1/failures/summary?since&until
 *   GET  /api/v1/runners → {runners: RunnerJson[]}
 *   DELETE /api/v1/runners/:id → 204 | 404 (its running jobs fail: runner_system_failure)
 *   GET  /api/v1/openapi.json
 * Auth: `Authorization: Bearer <api token>`.
 */
import type { FailureClassification } from './failure.js';
import type { DisplayStatus, JobStatus, PipelineStatus } from './status.js';

export interface ApiErrorDetail {
  path: string;
  line?: number;
  column?: number;
  message: string;
  /** For a pipeline configuration: the included file the line is in (absent: the main file). */
  file?: string;
}
export interface ApiError {
  error: string;
  details?: ApiErrorDetail[];
}

export interface RunnerJson {
  id: number;
  name: string;
  host: string | null;
  /** online: heard within the heartbeat timeout; stale: not heard for the stale time (default 7 days). */
  state: 'online' | 'offline' | 'stale';
  last_contact_at: string | null;
  version: string | null;
  executor: string;
  tags: string[];
  run_untagged: boolean;
  concurrency: number;
  jobs_running: number;
  /** Infra failures of its jobs in the last 24 h. */
  recent_infra_failures: number;
}

export interface JobJson {
  id: number;
  /** trigger: jobs: the child pipeline it created (GET /api/v1/pipelines/:id). */
  downstream_pipeline_id?: number;
  pipeline_id: number;
  name: string;
  stage: string;
  status: JobStatus;
  /** status with derived `success_with_warnings` for allowed failures. */
  display_status: DisplayStatus;
  exit_code: number | null;
  allow_failure: boolean;
  /** Only for failed jobs (and canceled by timeout); null while not yet classified. */
  failure: FailureClassification | null;
  attempt: number;
  /** Id of the attempt this one retried, if any. */
  retry_of: number | null;
  needs: string[] | null;
  when: string;
  manual: string | null;
  interruptible: boolean | 'graceful';
  runner_id: number | null;
  note: string | null;
  after_script: { ran: boolean; exit_code: number | null; timed_out: boolean } | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** Kept artifacts (archive and reports); present on GET /jobs/:id and in a pipeline's jobs. */
  artifacts?: ArtifactJson[];
  /** Parsed `artifacts: reports: junit`. */
  test_report?: TestReportJson | null;
}

export interface ArtifactJson {
  /** archive, or a report kind (junit, dotenv, …). */
  kind: string;
  name: string | null;
  expose_as: string | null;
  size: number;
  files: number;
  created_at: string;
  expire_at: string | null;
  expired: boolean;
}

export interface TestReportJson {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  time: number;
  failed: { suite: string; classname: string; name: string; kind: 'failure' | 'error'; message: string; file: string }[];
  parse_error: string | null;
}

export interface PipelineJson {
  id: number;
  project: string;
  ref: string;
  sha: string | null;
  name: string;
  status: PipelineStatus;
  display_status: DisplayStatus;
  halted_by: { id: number; name: string } | null;
  /** Failed pipelines: infra when every failed job that counts is infra, build when any is build. */
  failure_class: 'infra' | 'build' | 'unknown' | null;
  /** Lists only: failed jobs (latest attempts) by class, e.g. {infra: 3, build: 1}. */
  failure_counts?: Partial<Record<'infra' | 'build' | 'unknown', number>>;
  stages: string[];
  warnings: { path: string; line: number; column: number; message: string; file?: string }[];
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  jobs?: JobJson[];
  /** A child pipeline (trigger: include:): its parent pipeline and the parent's trigger job. */
  parent?: { pipeline_id: number; trigger_job_id: number };
  /** Child pipelines this one's trigger jobs created. */
  downstream?: { id: number; trigger_job_id: number; status: PipelineStatus }[];
}

/** One classified failure (GET /api/v1/failures): the job plus its pipeline's project/ref. */
export interface FailureJson extends JobJson {
  failure: FailureClassification;
  project: string;
  ref: string;
}
/** GET /api/v1/failures → newest first; pass `next_cursor` back as `cursor` for the next page. */
export interface FailureListJson {
  failures: FailureJson[];
  next_cursor: string | null;
}
/** GET /api/v1/failures/summary → counts over [since, until]. */
export interface FailureSummaryJson {
  since: string;
  until: string;
  total: number;
  by_class: { class: 'infra' | 'build' | 'unknown'; count: number }[];
  by_cause: { class: 'infra' | 'build' | 'unknown'; cause: string; count: number }[];
}
