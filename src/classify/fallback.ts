/**
 * What to conclude when no rule matches: the reason alone. Deliberately coarse — a
 * fallback is marked as such so operators can see which failures still need a rule.
 */
import type { FailureClass, FailureReason, FailureStage } from '../protocol/failure.js';

export interface FallbackVerdict {
  class: FailureClass;
  cause: string;
  summary: string;
}

export const FALLBACK_BY_REASON = {
  script_failure: { class: 'build', cause: 'script_failed', summary: 'The job script exited with a non-zero status' },
  // GitLab's job timeout is the job's own `timeout:` budget being spent: the build's.
  job_execution_timeout: { class: 'build', cause: 'job_timeout', summary: 'The job ran longer than its timeout' },
  image_pull_failure: { class: 'infra', cause: 'image_pull_failed', summary: 'The job image could not be pulled' },
  // The job asked for something the runner cannot do (bad `image:`/`services:` options …).
  runner_configuration_error: {
    class: 'build',
    cause: 'runner_configuration_error',
    summary: 'The job configuration is not usable on this runner',
  },
  runner_system_failure: { class: 'infra', cause: 'runner_system_failure', summary: 'The runner failed while running the job' },
  runner_external_dependency_failure: {
    class: 'infra',
    cause: 'external_dependency_failure',
    summary: 'A service the runner depends on failed',
  },
  runner_interrupted: { class: 'infra', cause: 'runner_interrupted', summary: 'The runner was interrupted (shutdown or restart)' },
  runner_unsupported: { class: 'infra', cause: 'runner_unsupported', summary: 'The runner does not support a feature the job needs' },
  // Artifacts are kept (and expired) by faultline: never the developers' script.
  missing_dependency_failure: {
    class: 'infra',
    cause: 'missing_dependency',
    summary: 'An artifact of a job this job depends on is missing (expired or lost)',
  },
  unknown_failure: { class: 'unknown', cause: 'unknown', summary: 'The job failed for an unknown reason' },
  no_updates_running: { class: 'infra', cause: 'runner_lost', summary: 'The runner stopped reporting on the running job' },
  stuck_pending_no_matching_runners: { class: 'infra', cause: 'no_matching_runner', summary: 'No online runner matches the job’s tags' },
  stuck_pending_with_matching_runners: { class: 'infra', cause: 'runner_capacity', summary: 'Matching runners never picked the job up' },
  // trigger: jobs: the trigger service decides the class itself (the child's config or its failures).
  downstream_pipeline_creation_failed: {
    class: 'unknown',
    cause: 'downstream_creation_failed',
    summary: 'The child pipeline could not be created',
  },
  downstream_pipeline_failed: { class: 'unknown', cause: 'downstream_failed', summary: 'The child pipeline failed' },
} as const satisfies Record<FailureReason, FallbackVerdict>;

/**
 * Runner-side stages lean infra: when the runner reports a plain script/unknown failure
 * but the job never reached its script (or failed after it, uploading), the machinery
 * around the job failed, not the developers' commands.
 */
export const FALLBACK_BY_STAGE = {
  prepare_executor: { class: 'infra', cause: 'prepare_failed', summary: 'Preparing the job environment failed' },
  pull_image: { class: 'infra', cause: 'image_pull_failed', summary: 'The job image could not be pulled' },
  get_sources: { class: 'infra', cause: 'source_fetch_failed', summary: 'Fetching the job sources failed' },
  upload: { class: 'infra', cause: 'upload_failed', summary: 'Uploading the job artifacts or cache failed' },
} as const satisfies Partial<Record<FailureStage, FallbackVerdict>>;

/**
 * A script failure the runner marks as the job's own `hooks: pre_get_sources_script`: gitlab-runner
 * runs it in get_sources (before the fetch) and reports script_failure there, so by stage it would
 * read as a failed fetch (infra) — but the commands are the pipeline's. No public log shows the
 * runner's structured kind, so this is decided here rather than by a corpus-backed rule.
 */
const HOOK_FAILED: FallbackVerdict = {
  class: 'build',
  cause: 'hook_failed',
  summary: "The job's hooks: pre_get_sources_script failed before the sources were fetched",
};

export function fallbackFor(reason: FailureReason, stage?: FailureStage, kind?: string | null): FallbackVerdict {
  if (reason === 'script_failure' && stage === 'get_sources' && kind === 'pre_get_sources_script') return HOOK_FAILED;
  if ((reason === 'script_failure' || reason === 'unknown_failure') && stage && stage in FALLBACK_BY_STAGE) {
    return FALLBACK_BY_STAGE[stage as keyof typeof FALLBACK_BY_STAGE];
  }
  return FALLBACK_BY_REASON[reason] ?? FALLBACK_BY_REASON.unknown_failure;
}
