/**
 * The async entry point: parse, resolve `include:` through the injected sources, then
 * compile the merged configuration like compilePipeline does.
 */
import { compileTop, guarded, parseTop } from '../compile.js';
import { Diagnostics } from '../diagnostics.js';
import type { CompileOptions, CompileResult } from '../index.js';
import { IncludeResolver, type IncludeLimits, type ResolveResult } from './resolve.js';
import type { IncludeSources } from './sources.js';

export interface IncludeOptions {
  sources: IncludeSources;
  /** 'error' (pipeline creation, the default) or 'warn' (lint: skip what cannot be reached). */
  onUnreachable?: 'error' | 'warn';
  limits?: Partial<IncludeLimits>;
}

export type CompileWithIncludesResult = CompileResult & { skipped: ResolveResult['skipped'] };

export async function compilePipelineWithIncludes(
  text: string,
  opts: CompileOptions,
  inc: IncludeOptions,
): Promise<CompileWithIncludesResult> {
  const diag = new Diagnostics();
  let merged: ReturnType<typeof parseTop> = null;
  let skipped: ResolveResult['skipped'] = [];
  try {
    const top = parseTop(text, diag);
    if (top) {
      const resolver = new IncludeResolver(
        {
          sources: inc.sources,
          commit: opts.commit,
          // $CI_SERVER_FQDN in a component address means the GitLab instance components come from.
          variables: {
            ...(opts.predefined ?? {}),
            ...(inc.sources.gitlab ? { CI_SERVER_FQDN: inc.sources.gitlab.fqdn } : {}),
            ...(opts.variables ?? {}),
          },
          onUnreachable: inc.onUnreachable ?? 'error',
          limits: inc.limits,
        },
        diag,
      );
      merged = await resolver.expand(top, { project: null }, 0);
      skipped = resolver.skipped;
    }
  } catch (e) {
    diag.error('', { line: 1, column: 1 }, `internal error while resolving include: ${(e as Error)?.message ?? String(e)}`);
    merged = null;
  }
  const result = guarded((d) => (merged && d.errors.length === 0 ? compileTop(merged, opts, d) : null), diag);
  return { ...result, skipped };
}

export type { IncludeSources, FetchOutcome, FetchFailure, ProjectFiles, GitLabSource } from './sources.js';
export { missing, unreachable } from './sources.js';
export { GITLAB_LIMITS, type IncludeLimits } from './resolve.js';
