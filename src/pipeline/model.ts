/**
 * The compiled pipeline model: what src/config produces from YAML and what the
 * engine, coordinator and runners consume. Plain data (JSON-serialisable), no
 * YAML concepts left (extends, anchors, rules and defaults are resolved).
 */
import type { RetryWhen } from '../protocol/failure.js';
import type { ArtifactsSpec, CacheSpec, ImageSpec, Interruptible, ServiceSpec } from '../protocol/job-spec.js';

export * from '../protocol/job-spec.js';

/** What one job outcome does to the pipeline. */
export const OUTCOMES = ['continue', 'warn', 'fail_pipeline', 'pass_pipeline'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * `on_status`, normalised. `allow_failure: true` compiles to failure: 'warn';
 * `allow_failure: {exit_codes: [2]}` to exit_codes {2: 'warn'}.
 * success: 'continue' | 'pass_pipeline'; failure: 'fail_pipeline' | 'warn' | 'pass_pipeline'.
 */
export interface OnStatus {
  success: 'continue' | 'pass_pipeline';
  failure: 'fail_pipeline' | 'warn' | 'pass_pipeline';
  /** Exact exit statuses (keys are decimal strings, JSON-friendly). */
  exit_codes: Record<string, 'warn' | 'fail_pipeline' | 'pass_pipeline'>;
}

export type When = 'on_success' | 'on_failure' | 'always' | 'manual' | 'never';
export type ManualMode = 'required' | 'optional' | 'ignored';

export interface RetrySpec {
  max: number; // 0..2 like GitLab (we allow up to 10)
  /** default ['always'], or [] when exit_codes are given */
  when: RetryWhen[];
  /** `retry: exit_codes`: a failure with one of these exit codes is retried whatever `when` says. */
  exit_codes?: number[];
}

export interface JobVariable {
  key: string;
  value: string;
  masked: boolean;
}

export interface JobSpec {
  name: string;
  stage: string;
  /** Index of `stage` in PipelineModel.stages. */
  stage_index: number;
  image: ImageSpec | null;
  before_script: string[];
  script: string[];
  after_script: string[];
  /** null = stage mode (wait for all earlier stages); [] = start at once; else DAG edges. */
  needs: string[] | null;
  /** Never 'never' here: such jobs are dropped at compile time. */
  when: Exclude<When, 'never'>;
  /** Set iff when === 'manual'. `when: manual` without `manual:` → 'ignored' (GitLab's allow_failure default). */
  manual: ManualMode | null;
  on_status: OnStatus;
  interruptible: Interruptible;
  timeout_seconds: number; // default 3600
  after_script_timeout_seconds: number; // default 300
  retry: RetrySpec;
  tags: string[];
  /**
   * Job-level variables merged over global ones (global < job < matching rule < matrix),
   * CI_ENVIRONMENT_* and CI_NODE_* among them. Values are as written: `$VAR` references
   * are expanded when the job runs, against everything the job sees.
   */
  variables: Record<string, string>;
  /** Keys declared `expand: false`: their values are passed literally. */
  raw_variables?: string[];
  /** `resource_group` (expanded): at most one job of the project with this group runs at a time. */
  resource_group?: string;
  /** `services:` (docker executor only; other executors refuse the job). Absent = none. */
  services?: ServiceSpec[];
  /** `cache:` entries. Absent = none. */
  cache?: CacheSpec[];
  /** `hooks: pre_get_sources_script` (job or default:); absent = none. Run before the checkout. */
  hooks?: { pre_get_sources_script: string[] };
  /** Source line of the job key in the YAML (1-based), for messages. */
  line: number;
  /** `artifacts:`; absent/null = the job keeps nothing. */
  artifacts?: ArtifactsSpec | null;
  /**
   * Jobs whose artifacts (and dotenv variables) this job downloads: `dependencies:`, else
   * the `needs:` without `artifacts: false`, else every job of the earlier stages.
   */
  artifact_dependencies?: string[];
  /** `trigger:` — a child pipeline the coordinator creates instead of handing the job to a runner. */
  trigger?: TriggerSpec;
}

/** One file of a child pipeline's configuration (`trigger: include:`). */
export type TriggerInclude =
  | { local: string }
  | { artifact: string; job: string }
  | { project: string; file: string; ref?: string }
  | { template: string }
  | { remote: string };

export interface TriggerSpec {
  include: TriggerInclude[];
  /** 'depend': the trigger job mirrors the child's status; null: it succeeds once the child exists. */
  strategy: 'depend' | null;
  /** What goes down: the job's (and global) variables; the parent's pipeline variables. */
  forward: { yaml_variables: boolean; pipeline_variables: boolean };
}

export interface ConfigWarning {
  path: string; // e.g. "build.artifacts"
  line: number;
  column: number;
  message: string;
  /** The included file the position is in; absent for the main file. */
  file?: string;
}

/** `workflow: auto_cancel:` (GitLab's values); absent keys = faultline's defaults (see src/config/README.md). */
export interface AutoCancel {
  on_new_commit?: 'conservative' | 'interruptible' | 'none';
  on_job_failure?: 'none' | 'all';
}

export interface PipelineModel {
  stages: string[];
  /** In YAML order. Names unique. */
  jobs: JobSpec[];
  /** Global variables after rules/workflow evaluation. */
  variables: Record<string, string>;
  /** Keys declared `masked: true` (global or in any job); their values must be hidden in logs/UI. */
  masked_variables?: string[];
  /** The predefined CI_* variables the pipeline was compiled against (set by the coordinator). */
  predefined?: Record<string, string>;
  warnings: ConfigWarning[];
  /** `workflow: auto_cancel:` (and the matching workflow rule's); absent = not set. */
  auto_cancel?: AutoCancel;
}
