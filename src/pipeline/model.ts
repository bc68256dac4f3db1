/**
 * The compiled pipeline model: what src/config produces from YAML and what the
 * engine, coordinator and runners consume. Plain data (JSON-serialisable), no
 * YAML concepts left (extends, anchors, rules and defaults are resolved).
 */
import type { RetryWhen } from '../protocol/failure.js';

export const PULL_POLICIES = ['always', 'if-not-present', 'never'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

export interface ImageSpec {
  name: string;
  /** Ordered list of policies to try; empty = runner default. */
  pull_policy: PullPolicy[];
  /** `image: entrypoint:` — overrides the image's ENTRYPOINT (docker executor); absent = the image's. */
  entrypoint?: string[];
  /** `image: docker: user:` / `platform:` (docker executor). */
  docker?: { user?: string; platform?: string };
}

/** One `services:` entry (a sidecar container on the job's network, docker executor). */
export interface ServiceSpec {
  /** Image of the service (variables expanded by the runner). */
  name: string;
  /** Host names the job reaches it by; empty = derived from the image name (as gitlab-runner). */
  alias: string[];
  entrypoint: string[] | null;
  command: string[] | null;
  /** Service-only variables, on top of the job's. */
  variables: Record<string, string>;
  pull_policy: PullPolicy[];
}

export const CACHE_POLICIES = ['pull', 'push', 'pull-push'] as const;
export type CachePolicy = (typeof CACHE_POLICIES)[number];

/** One `cache:` entry. Keys are expanded and hashed by the runner (it has the files). */
export interface CacheSpec {
  /** `key:` string (default "default"); unused when `files` is set. */
  key: string;
  /** `key: files:` — the key is the hash of these files' contents. */
  files: string[] | null;
  /** `key: prefix:` — prepended to the files hash. */
  prefix: string | null;
  paths: string[];
  untracked: boolean;
  policy: CachePolicy;
  when: 'on_success' | 'on_failure' | 'always';
  fallback_keys: string[];
}

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
export type Interruptible = boolean | 'graceful';

export interface RetrySpec {
  max: number; // 0..2 like GitLab (we allow up to 10)
  when: RetryWhen[]; // default ['always']
}

export interface JobVariable {
  key: string;
  value: string;
  masked: boolean;
}

/** `artifacts:` after compilation (paths relative to the project dir, globs allowed). */
export interface ArtifactsSpec {
  name: string | null;
  paths: string[];
  exclude: string[];
  untracked: boolean;
  when: 'on_success' | 'on_failure' | 'always';
  /** null = never expires. */
  expire_in_seconds: number | null;
  expose_as: string | null;
  /** Report kind (junit, dotenv, …) → paths; each kind is uploaded as its own archive. */
  reports: Record<string, string[]>;
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
  /** Source line of the job key in the YAML (1-based), for messages. */
  line: number;
  /** `artifacts:`; absent/null = the job keeps nothing. */
  artifacts?: ArtifactsSpec | null;
  /**
   * Jobs whose artifacts (and dotenv variables) this job downloads: `dependencies:`, else
   * the `needs:` without `artifacts: false`, else every job of the earlier stages.
   */
  artifact_dependencies?: string[];
}

export interface ConfigWarning {
  path: string; // e.g. "build.artifacts"
  line: number;
  column: number;
  message: string;
  /** The included file the position is in; absent for the main file. */
  file?: string;
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
}
