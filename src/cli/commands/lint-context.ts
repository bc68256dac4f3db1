/**
 * The pipeline `faultline lint` simulates, as GitLab's CI Lint does: by default a push
 * to the default branch; `--ref`, `--source` and `--var` change it. The predefined
 * variables are the ones GitLab sets for that kind of pipeline (an MR pipeline has no
 * CI_COMMIT_BRANCH; a tag pipeline has CI_COMMIT_TAG instead).
 */
import { execFileSync } from 'node:child_process';
import { slug } from '../../coordinator/services/variables.js';

/** CI_PIPELINE_SOURCE values GitLab documents. */
export const PIPELINE_SOURCES = [
  'push',
  'web',
  'trigger',
  'schedule',
  'api',
  'external',
  'pipeline',
  'chat',
  'webide',
  'merge_request_event',
  'external_pull_request_event',
  'parent_pipeline',
  'ondemand_dast_scan',
  'ondemand_dast_validation',
  'security_orchestration_policy',
] as const;

export interface LintContext {
  ref: string;
  source: string;
  defaultBranch: string;
  tag: boolean;
  predefined: Record<string, string>;
  /** "a push to main" — for messages. */
  described: string;
}

const git = (cwd: string, ...args: string[]): string | null => {
  try {
    return execFileSync('git', ['-C', cwd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
};

export function defaultBranch(root: string | null): string {
  if (!root) return 'main';
  const remote = git(root, 'symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD');
  if (remote) return remote.replace(/^origin\//, '');
  for (const b of ['main', 'master']) if (git(root, 'show-ref', '--verify', '--quiet', `refs/heads/${b}`) !== null) return b;
  const cur = git(root, 'symbolic-ref', '--quiet', '--short', 'HEAD');
  return cur || 'main';
}

export function lintContext(root: string | null, o: { ref?: string; source?: string; projectName: string }): LintContext {
  const def = defaultBranch(root);
  const ref = o.ref ?? def;
  const source = o.source ?? 'push';
  const tag = root !== null && git(root, 'show-ref', '--verify', '--quiet', `refs/tags/${ref}`) !== null;
  const sha = root ? git(root, 'rev-parse', 'HEAD') : null;
  const v: Record<string, string> = {
    CI: 'true',
    GITLAB_CI: 'true',
    FAULTLINE: 'true',
    CI_PIPELINE_SOURCE: source,
    CI_DEFAULT_BRANCH: def,
    CI_COMMIT_REF_NAME: ref,
    CI_COMMIT_REF_SLUG: slug(ref),
    CI_PROJECT_NAME: o.projectName,
  };
  if (sha) Object.assign(v, { CI_COMMIT_SHA: sha, CI_COMMIT_SHORT_SHA: sha.slice(0, 8) });
  if (tag) v.CI_COMMIT_TAG = ref;
  else if (source === 'merge_request_event') {
    Object.assign(v, {
      CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: ref,
      CI_MERGE_REQUEST_TARGET_BRANCH_NAME: def,
      CI_MERGE_REQUEST_IID: '1',
      CI_MERGE_REQUEST_EVENT_TYPE: 'detached',
    });
  } else v.CI_COMMIT_BRANCH = ref;
  const what = source === 'push' ? 'a push' : source === 'merge_request_event' ? 'a merge request pipeline' : `a ${source} pipeline`;
  const described = `${what} ${source === 'merge_request_event' ? `from ${ref} into ${def}` : `${tag ? 'of tag' : 'to'} ${ref}`}${ref === def && !tag ? ' (the default branch)' : ''}`;
  return { ref, source, defaultBranch: def, tag, predefined: v, described };
}
