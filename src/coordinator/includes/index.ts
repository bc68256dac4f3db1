/**
 * The include sources of one pipeline: local files from its repository at its commit
 * (or a working tree), remote files over HTTP, project/template/component through the
 * configured GitLab instance.
 */
import type { CommitFacts, IncludeSources } from '../../config/index.js';
import { gitlabSource, type GitLabInstance } from './gitlab-api.js';
import { gitCommitFiles } from './git-files.js';
import { DEFAULT_HTTP_LIMITS, remoteFetcher, type HttpLimits } from './http-fetch.js';
import { worktreeFiles } from './worktree-files.js';

export interface SourcesInput {
  /** The pipeline's repository and commit; a local `worktree` directory wins when given. */
  repository?: { url: string; sha: string | null; ref: string } | null;
  worktree?: string;
  gitlab?: GitLabInstance;
  cacheDir: string;
  http?: HttpLimits;
}

export function includeSources(i: SourcesInput): { sources: IncludeSources; facts: () => Promise<CommitFacts | null> } {
  const http = i.http ?? DEFAULT_HTTP_LIMITS;
  const local = i.worktree
    ? worktreeFiles(i.worktree)
    : i.repository
      ? gitCommitFiles(i.repository.url, i.repository.sha ?? i.repository.ref, i.cacheDir)
      : null;
  const sources: IncludeSources = { remote: remoteFetcher(http) };
  if (local) sources.local = local;
  if (i.gitlab) sources.gitlab = gitlabSource(i.gitlab, http);
  return { sources, facts: async () => (local ? local.facts() : null) };
}

export { gitlabFromEnv, gitlabSource, type GitLabInstance } from './gitlab-api.js';
export { remoteFetcher, DEFAULT_HTTP_LIMITS, type HttpLimits } from './http-fetch.js';
export { worktreeFiles } from './worktree-files.js';
export { gitCommitFiles } from './git-files.js';
