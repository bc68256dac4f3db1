/**
 * Names, label names and closed label-value sets of faultline's Prometheus metrics.
 * One place shared by src/telemetry/metrics.ts, the alert rules, the dashboards and their tests.
 *
 * Cardinality rule: every label value comes from a closed set or from a bounded,
 * operator-controlled set (runner names, registry hosts, executor names, classifier
 * causes). Job names, images, refs and pipeline names never become label values.
 */
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import {
  ATTR_CICD_PIPELINE_RESULT,
  ATTR_CICD_PIPELINE_RUN_STATE,
  CICD_PIPELINE_RUN_STATE_VALUE_EXECUTING,
  CICD_PIPELINE_RUN_STATE_VALUE_FINALIZING,
  CICD_PIPELINE_RUN_STATE_VALUE_PENDING,
  ATTR_CICD_SYSTEM_COMPONENT,
  ATTR_CICD_WORKER_STATE,
  CICD_PIPELINE_RESULT_VALUE_CANCELLATION,
  CICD_PIPELINE_RESULT_VALUE_ERROR,
  CICD_PIPELINE_RESULT_VALUE_FAILURE,
  CICD_PIPELINE_RESULT_VALUE_SKIP,
  CICD_PIPELINE_RESULT_VALUE_SUCCESS,
  CICD_PIPELINE_RESULT_VALUE_TIMEOUT,
  CICD_WORKER_STATE_VALUE_AVAILABLE,
  CICD_WORKER_STATE_VALUE_BUSY,
  CICD_WORKER_STATE_VALUE_OFFLINE,
  METRIC_CICD_PIPELINE_RUN_ACTIVE,
  METRIC_CICD_PIPELINE_RUN_DURATION,
  METRIC_CICD_PIPELINE_RUN_ERRORS,
  METRIC_CICD_SYSTEM_ERRORS,
  METRIC_CICD_WORKER_COUNT,
} from '@opentelemetry/semantic-conventions/incubating';

/**
 * OTel → Prometheus name translation (the collector's rule, simplified to what we use):
 * dots become underscores, the unit `s` adds `_seconds`, monotonic counters add `_total`.
 */
export function promName(otelName: string, opts: { unit?: 's'; counter?: boolean } = {}): string {
  let n = otelName.replace(/[^a-zA-Z0-9_:]/g, '_');
  if (opts.unit === 's') n += '_seconds';
  if (opts.counter) n += '_total';
  return n;
}
export const promLabel = (otelAttr: string): string => otelAttr.replace(/[^a-zA-Z0-9_]/g, '_');

/** Every metric name faultline exposes (histograms: the base name). */
export const METRIC = {
  // coordinator
  jobsFinished: 'faultline_jobs_finished_total',
  jobDuration: 'faultline_job_duration_seconds',
  jobQueued: 'faultline_job_queued_seconds',
  jobsRunning: 'faultline_jobs_running',
  jobsPending: 'faultline_jobs_pending',
  pipelinesFinished: 'faultline_pipelines_finished_total',
  pipelineDuration: 'faultline_pipeline_duration_seconds',
  runners: 'faultline_runners',
  runnerHeartbeatAge: 'faultline_runner_heartbeat_age_seconds',
  engineCatchups: 'faultline_engine_catchups_total',
  incidentOpen: 'faultline_incident_open',
  incidentsTotal: 'faultline_incidents_total',
  incidentDuration: 'faultline_incident_duration_seconds',
  recovery: 'faultline_recovery_seconds',
  classifications: 'faultline_classifications_total',
  buildInfo: 'faultline_build_info',
  // OTel CI/CD semantic conventions (development status), Prometheus-translated
  cicdSystemErrors: promName(METRIC_CICD_SYSTEM_ERRORS, { counter: true }), // cicd_system_errors_total
  cicdPipelineRunDuration: promName(METRIC_CICD_PIPELINE_RUN_DURATION, { unit: 's' }), // cicd_pipeline_run_duration_seconds
  cicdPipelineRunActive: promName(METRIC_CICD_PIPELINE_RUN_ACTIVE), // cicd_pipeline_run_active
  cicdPipelineRunErrors: promName(METRIC_CICD_PIPELINE_RUN_ERRORS, { counter: true }), // cicd_pipeline_run_errors_total
  cicdWorkerCount: promName(METRIC_CICD_WORKER_COUNT), // cicd_worker_count
  // both coordinator (as reported by runners) and runner
  imagePulls: 'faultline_image_pulls_total',
  imagePullDuration: 'faultline_image_pull_duration_seconds',
  // runner only
  runnerJobsRunning: 'faultline_runner_jobs_running',
  runnerJobStageDuration: 'faultline_runner_job_stage_duration_seconds',
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** OTel attribute names as Prometheus labels. */
export const LABEL = {
  errorType: promLabel(ATTR_ERROR_TYPE), // error_type
  cicdSystemComponent: promLabel(ATTR_CICD_SYSTEM_COMPONENT), // cicd_system_component
  cicdPipelineResult: promLabel(ATTR_CICD_PIPELINE_RESULT), // cicd_pipeline_result
  cicdPipelineRunState: promLabel(ATTR_CICD_PIPELINE_RUN_STATE), // cicd_pipeline_run_state
  cicdWorkerState: promLabel(ATTR_CICD_WORKER_STATE), // cicd_worker_state
} as const;

/** Job statuses a finished job can have (terminal statuses). */
export const FINISHED_JOB_STATUSES = ['success', 'failed', 'canceled', 'skipped'] as const;
export type FinishedJobStatus = (typeof FINISHED_JOB_STATUSES)[number];

/** Same values as the OTel `cicd.worker.state` enum. */
export const RUNNER_STATES = [CICD_WORKER_STATE_VALUE_AVAILABLE, CICD_WORKER_STATE_VALUE_BUSY, CICD_WORKER_STATE_VALUE_OFFLINE] as const;
export type RunnerState = (typeof RUNNER_STATES)[number];

export const IMAGE_PULL_OUTCOMES = ['success', 'failure', 'local'] as const;
export type ImagePullOutcome = (typeof IMAGE_PULL_OUTCOMES)[number];

/**
 * ImagePullError kinds. `registry_unreachable` and `other` point at the registry
 * (RegistryOutage counts them); `not_found` and `auth_failed` are per image / per
 * credential and usually the job author's to fix.
 */
export const IMAGE_PULL_FAILURE_KINDS = ['registry_unreachable', 'auth_failed', 'not_found', 'other'] as const;
export type ImagePullFailureKind = (typeof IMAGE_PULL_FAILURE_KINDS)[number];

/** faultline_recovery_seconds{kind}: a ref's failed→green pipelines, or an incident's opened→resolved. */
export const RECOVERY_KINDS = ['pipeline', 'incident'] as const;
export type RecoveryKind = (typeof RECOVERY_KINDS)[number];

/** `cicd.system.component` values faultline reports. */
export const CICD_SYSTEM_COMPONENTS = ['coordinator', 'runner'] as const;
export type CicdSystemComponent = (typeof CICD_SYSTEM_COMPONENTS)[number];

/** `cicd.pipeline.run.state`: pending (queued, no job started), executing, finalizing (unused: no teardown phase). */
export const CICD_PIPELINE_RUN_STATES = [
  CICD_PIPELINE_RUN_STATE_VALUE_PENDING,
  CICD_PIPELINE_RUN_STATE_VALUE_EXECUTING,
  CICD_PIPELINE_RUN_STATE_VALUE_FINALIZING,
] as const;
export type CicdPipelineRunState = (typeof CICD_PIPELINE_RUN_STATES)[number];

export const CICD_PIPELINE_RESULTS = [
  CICD_PIPELINE_RESULT_VALUE_SUCCESS,
  CICD_PIPELINE_RESULT_VALUE_FAILURE,
  CICD_PIPELINE_RESULT_VALUE_ERROR,
  CICD_PIPELINE_RESULT_VALUE_TIMEOUT,
  CICD_PIPELINE_RESULT_VALUE_CANCELLATION,
  CICD_PIPELINE_RESULT_VALUE_SKIP,
] as const;
export type CicdPipelineResult = (typeof CICD_PIPELINE_RESULTS)[number];

/** Histogram buckets (seconds), chosen for CI time scales. */
export const BUCKETS = {
  job: [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200],
  queued: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
  pipeline: [5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400],
  imagePull: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  incident: [60, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400],
  recovery: [10, 60, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400, 259200],
  stage: [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
} as const;
