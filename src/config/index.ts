/**
 * Public surface of src/config: `.gitlab-ci.yml`-compatible YAML → validated PipelineModel.
 * Implementation lives in sibling modules; this file only re-exports.
 */
import type { ConfigWarning, PipelineModel } from '../pipeline/model.js';

export interface ConfigError {
  /** Dotted path, e.g. "build.needs[0]" or "stages". */
  path: string;
  line: number; // 1-based
  column: number; // 1-based
  message: string;
  /** The included file the position is in (its include location); absent for the main file. */
  file?: string;
  /** Set on the errors that only say this context runs nothing: no pipeline (workflow) or no jobs (rules). */
  /** `no_provider`: a keyword faultline has no provider for (secrets, id_tokens); lint warns on it. */
  code?: 'no_pipeline' | 'no_jobs' | 'include_unreachable' | 'no_provider' | 'needs_lookup';
  /**
   * With code `needs_lookup`: what the compiler needs the caller to look up (it does no I/O) —
   * the caller gathers every `want`, puts the answers in `CommitFacts.lookups` and compiles again.
   */
  want?: Want;
}

/** A repository question a rule asks: `changes: compare_to`, `exists: project/ref`. */
export type Want = { kind: 'changed_since'; ref: string } | { kind: 'project_files'; project: string; ref: string | null };

/** An answer to a Want: the paths, or why they could not be known (the rule's error says it). */
export type LookupAnswer =
  | { ok: true; paths: readonly string[] }
  /** `unreachable`: there was nothing to ask (no repository here, no GitLab) — lint warns; creation refuses. */
  | { ok: false; reason: string; unreachable?: boolean };

/** Answers to the rules' Wants, by wantKey. */
export type Lookups = Readonly<Record<string, LookupAnswer>>;

/**
 * What the caller knows about the pipeline's commit, for `rules: changes/exists` and
 * `only/except: changes`. Gathered by the caller (git, the working tree); the compiler does no I/O.
 */
export interface CommitFacts {
  /** Every file path in the commit, '/'-separated and relative to the repository root. */
  files: readonly string[];
  /** Paths changed by the push (against the parent commit, or `compare_to`); null when unknown. */
  changed: readonly string[] | null;
}

export interface CompileOptions {
  /** Facts about the pipeline's commit; absent when unknown (then changes/exists cannot be evaluated). */
  commit?: CommitFacts;
  /** Answers the caller looked up for `changes: compare_to` / `exists: project` (see ConfigError.want). */
  lookups?: Lookups;
  /** Pipeline variables (API/trigger), highest precedence, used by `rules: if:`. */
  variables?: Record<string, string>;
  /** Predefined CI_* variables (CI_COMMIT_REF_NAME, CI_PIPELINE_SOURCE …) visible to rules. */
  predefined?: Record<string, string>;
}

export type CompileResult =
  { ok: true; model: PipelineModel; warnings: ConfigWarning[] } | { ok: false; errors: ConfigError[]; warnings: ConfigWarning[] };

export { compilePipeline } from './compile.js';
export { wantKey } from './rule-clauses.js';
export {
  compilePipelineWithIncludes,
  GITLAB_LIMITS,
  missing,
  unreachable,
  type CompileWithIncludesResult,
  type FetchFailure,
  type FetchOutcome,
  type GitLabSource,
  type IncludeLimits,
  type IncludeOptions,
  type IncludeSources,
  type ProjectFiles,
} from './include/index.js';
