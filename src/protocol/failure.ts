/**
 * The closed taxonomy of failure reasons, stages and classes — the one place
 * shared by runner, coordinator, classifier and UI. Names follow gitlab-runner
 * so that users' `retry: when:` lists keep working.
 */

/** Reasons a runner reports for a failed job. */
export const RUNNER_FAILURE_REASONS = [
  'script_failure',
  'job_execution_timeout',
  'image_pull_failure',
  'runner_system_failure',
  'runner_configuration_error',
  'runner_external_dependency_failure',
  'runner_interrupted',
  'runner_unsupported',
  // An artifact of a job this one depends on is gone (expired, erased, lost): GitLab's name.
  'missing_dependency_failure',
  'unknown_failure',
] as const;

/** Reasons only the coordinator assigns (it sees what no runner can). */
export const COORDINATOR_FAILURE_REASONS = [
  'no_updates_running',
  'stuck_pending_no_matching_runners',
  'stuck_pending_with_matching_runners',
  // A trigger: job (GitLab's names): its child pipeline could not be created / failed (strategy: depend).
  'downstream_pipeline_creation_failed',
  'downstream_pipeline_failed',
] as const;

export const FAILURE_REASONS = [...RUNNER_FAILURE_REASONS, ...COORDINATOR_FAILURE_REASONS] as const;
export type RunnerFailureReason = (typeof RUNNER_FAILURE_REASONS)[number];
export type FailureReason = (typeof FAILURE_REASONS)[number];

export function isFailureReason(x: unknown): x is FailureReason {
  return typeof x === 'string' && (FAILURE_REASONS as readonly string[]).includes(x);
}

/** Where in the job's life the failure happened. */
export const FAILURE_STAGES = [
  'prepare_executor',
  'pull_image',
  'get_sources',
  'download_artifacts',
  'step_script',
  'after_script',
  'upload',
  'cleanup',
  'coordinator',
] as const;
export type FailureStage = (typeof FAILURE_STAGES)[number];

export const FAILURE_CLASSES = ['infra', 'build', 'unknown'] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

export const OWNERS = ['operators', 'developers', 'unknown'] as const;
export type Owner = (typeof OWNERS)[number];

/**
 * Values accepted in `retry: when:` besides the individual reasons:
 * GitLab's aliases plus faultline's class-level ones.
 */
export const RETRY_WHEN_ALIASES = {
  always: null, // every failure
  infrastructure: null, // failure class infra (decided by the classifier)
  build: null, // failure class build
  stuck_or_timeout_failure: [
    'stuck_pending_no_matching_runners',
    'stuck_pending_with_matching_runners',
    'no_updates_running',
    'job_execution_timeout',
  ],
  // GitLab names with no faultline equivalent yet; accepted so real configs validate.
  api_failure: [],
  scheduler_failure: [],
  data_integrity_failure: [],
  archived_failure: [],
  unmet_prerequisites: [],
} as const satisfies Record<string, readonly FailureReason[] | null>;
export type RetryWhen = FailureReason | keyof typeof RETRY_WHEN_ALIASES;
export const RETRY_WHEN_VALUES: readonly string[] = [...FAILURE_REASONS, ...Object.keys(RETRY_WHEN_ALIASES)];

/** Does a failed attempt qualify for an automatic retry under `when`? */
export function retryApplies(
  when: readonly string[],
  reason: FailureReason | null | undefined,
  failureClass: FailureClass | null | undefined,
): boolean {
  for (const w of when) {
    if (w === 'always') return true;
    if (w === 'infrastructure' && failureClass === 'infra') return true;
    if (w === 'build' && failureClass === 'build') return true;
    if (reason && w === reason) return true;
    const alias = (RETRY_WHEN_ALIASES as Record<string, readonly string[] | null>)[w];
    if (reason && Array.isArray(alias) && alias.includes(reason)) return true;
  }
  return false;
}

/** A log line that made a rule match. `line` is 1-based within the whole job log. */
export interface EvidenceLine {
  line: number;
  text: string;
  /** Where the evidence comes from when not the job log (e.g. `junit:report.xml`); `line` is 0 then. */
  source?: string;
}

/** Facts the runner (or coordinator) reports about a failure, before classification. */
export interface FailureReport {
  reason: FailureReason;
  stage: FailureStage;
  exit_code: number | null;
  executor: string | null;
  /** The executor's own error text, e.g. `ErrImagePull`, `ERROR: Machine creation failed`. */
  message: string | null;
  image: string | null;
  registry: string | null;
  /** e.g. ImagePullError kind: registry_unreachable | auth_failed | not_found | other */
  kind?: string | null;
}

/** What the classifier concluded; stored with the job and shown everywhere. */
export interface FailureClassification extends FailureReport {
  class: FailureClass;
  cause: string;
  summary: string;
  owner: Owner;
  /** The matching rule, or null when the fallback-by-reason decided. */
  rule: { id: string; version: string } | null;
  fallback: boolean;
  evidence: EvidenceLine[];
  /**
   * Fallback verdicts only (issue 9, item 5): the job's last successful run before this one
   * (same project and job name) that the log was compared with, or null when there is none.
   * Never set on a rule's verdict.
   */
  baseline_job_id?: number | null;
  /**
   * Fallback verdicts only: the first error-like lines of this log that the baseline run did
   * not print — not rule evidence, a hint where to look. null when there was nothing to compare with.
   */
  new_lines?: EvidenceLine[] | null;
}
