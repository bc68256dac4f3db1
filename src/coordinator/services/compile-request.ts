/**
 * One pipeline compile as the coordinator asks for it: the `.gitlab-ci.yml` text, the variables,
 * and where its includes come from. Plain data, so it crosses to the compiler worker as it is;
 * the same function runs inline for small files.
 */
import { compilePipeline, compilePipelineWithIncludes, type CompileOptions, type CompileResult } from '../../config/index.js';
import { includeSources, type SourcesInput } from '../includes/index.js';
import { compileWithLookups } from '../includes/repo-lookups.js';

export interface PipelineCompileRequest {
  yaml: string;
  opts: CompileOptions;
  /** Where includes and the commit's files come from; null: a bare text (no repository). */
  sources: SourcesInput | null;
}

/** The commit's files are read only when the configuration could use them: a remote repository costs a fetch. */
const MAY_NEED_FILES = /\b(include|exists|changes)\s*:/;

export async function compileRequest(r: PipelineCompileRequest): Promise<CompileResult> {
  if (typeof r.yaml !== 'string') return compilePipeline(r.yaml, r.opts);
  if (!r.sources) return compileWithLookups((lookups) => compilePipeline(r.yaml, { ...r.opts, lookups }), {});
  const { sources, facts } = includeSources(r.sources);
  const hasRepo = Boolean(r.sources.repository || r.sources.worktree);
  // The caller's facts (git at the commit, with its diff) win; else the include source's own.
  const commit = r.opts.commit ?? (hasRepo && MAY_NEED_FILES.test(r.yaml) ? await facts().catch(() => null) : null);
  const opts = { ...r.opts, ...(commit ? { commit } : {}) };
  // compare_to / exists: project are looked up on request (ConfigError.want), then compiled again.
  const repo = r.sources.repository;
  const places = {
    repository: repo ? { url: repo.url, sha: repo.sha ?? repo.ref } : null,
    ...(sources.gitlab ? { gitlab: sources.gitlab } : {}),
  };
  if (!/\binclude\s*:/.test(r.yaml)) return compileWithLookups((lookups) => compilePipeline(r.yaml, { ...opts, lookups }), places);
  const result = await compileWithLookups(
    (lookups) => compilePipelineWithIncludes(r.yaml, { ...opts, lookups }, { sources, onUnreachable: 'error' }),
    places,
  );
  const { skipped: _skipped, ...rest } = result;
  return rest as CompileResult;
}
