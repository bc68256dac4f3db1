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
}

export interface CompileOptions {
  /** Pipeline variables (API/trigger), highest precedence, used by `rules: if:`. */
  variables?: Record<string, string>;
  /** Predefined CI_* variables (CI_COMMIT_REF_NAME, CI_PIPELINE_SOURCE …) visible to rules. */
  predefined?: Record<string, string>;
}

export type CompileResult =
  | { ok: true; model: PipelineModel; warnings: ConfigWarning[] }
  | { ok: false; errors: ConfigError[]; warnings: ConfigWarning[] };

export { compilePipeline } from './compile.js';
