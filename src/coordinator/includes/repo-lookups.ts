/**
 * Answers the repository questions rules ask and the pure compiler cannot (ConfigError.want):
 *   - `changes: compare_to: REF` — GitLab's `pipeline.modified_paths_since`: the paths of
 *     `git diff merge-base(REF, sha) sha`, in the pipeline's repository on this machine;
 *   - `exists: {project, ref}` — that project's files at that ref, through the configured
 *     GitLab instance's repository tree API.
 * `compileWithLookups` compiles, gathers the wants, answers them and compiles again (a
 * workflow rule answered may change the variables later rules see, so a few rounds).
 */
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { wantKey, type CompileResult, type GitLabSource, type LookupAnswer, type Lookups, type Want } from '../../config/index.js';

const ROUNDS = 3;

export interface LookupPlaces {
  /** The pipeline's repository and commit (a directory on this machine for compare_to). */
  repository?: { url: string; sha: string | null } | null;
  gitlab?: GitLabSource;
}

function git(dir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['-C', dir, ...args],
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 30_000, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

const localDir = (url: string): string | null => {
  const p = url.startsWith('file://') ? fileURLToPath(url) : url.startsWith('/') ? url : null;
  return p && existsSync(p) && statSync(p).isDirectory() ? p : null;
};

/** A ref as GitLab's `project.commit(ref)` reads it: branch, tag or SHA (here also origin's branch). */
async function resolveRef(dir: string, ref: string): Promise<string | null> {
  if (ref.startsWith('-')) return null;
  for (const candidate of ref.startsWith('refs/') ? [ref] : [ref, `refs/remotes/origin/${ref}`]) {
    const r = await git(dir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${candidate}^{commit}`]);
    if (r.code === 0) return r.stdout.trim();
  }
  return null;
}

export async function changedSince(repo: LookupPlaces['repository'], ref: string): Promise<LookupAnswer> {
  const dir = repo ? localDir(repo.url) : null;
  if (!repo || !dir)
    return {
      ok: false,
      reason: `rules:changes:compare_to \`${ref}\` needs the pipeline's repository on the coordinator's machine${repo ? ` (\`${repo.url}\` is not)` : ' (the pipeline has none)'}, so it cannot be compared`,
      unreachable: true,
    };
  const sha = await resolveRef(dir, repo.sha ?? 'HEAD');
  if (!sha)
    return { ok: false, reason: `rules:changes:compare_to: the pipeline's commit \`${repo.sha ?? 'HEAD'}\` is not in the repository` };
  const base = await resolveRef(dir, ref);
  if (!base)
    return { ok: false, reason: `rules:changes:compare_to is not a valid ref (\`${ref}\` is no branch, tag or commit of the repository)` };
  const mb = await git(dir, ['merge-base', base, sha]);
  if (mb.code !== 0) return { ok: false, reason: `rules:changes:compare_to \`${ref}\` has no common ancestor with the pipeline's commit` };
  const diff = await git(dir, ['diff', '--name-only', '-z', '--no-renames', mb.stdout.trim(), sha]);
  if (diff.code !== 0)
    return { ok: false, reason: `rules:changes:compare_to \`${ref}\`: git diff failed: ${diff.stderr.trim().split('\n')[0]}` };
  return { ok: true, paths: diff.stdout.split('\0').filter(Boolean) };
}

export async function projectFiles(gitlab: GitLabSource | undefined, project: string, ref: string | null): Promise<LookupAnswer> {
  if (!gitlab?.tree)
    return {
      ok: false,
      reason: `rules:exists:project \`${project}\` needs a GitLab instance to look in, and none is configured (gitlab: {url, token} in the coordinator config, or FAULTLINE_GITLAB_URL)`,
      unreachable: true,
    };
  const r = await gitlab.tree(project, ref ?? undefined);
  return r.ok ? { ok: true, paths: r.paths } : { ok: false, reason: r.reason, ...(r.kind === 'unreachable' ? { unreachable: true } : {}) };
}

export function answer(w: Want, places: LookupPlaces): Promise<LookupAnswer> {
  return w.kind === 'changed_since' ? changedSince(places.repository, w.ref) : projectFiles(places.gitlab, w.project, w.ref);
}

/** Compile; while errors ask for lookups not yet answered, answer them and compile again. */
export async function compileWithLookups<R extends CompileResult>(
  compile: (lookups: Lookups) => Promise<R> | R,
  places: LookupPlaces,
): Promise<R> {
  const lookups: Record<string, LookupAnswer> = {};
  let result = await compile(lookups);
  for (let round = 0; round < ROUNDS && !result.ok; round++) {
    const wants = new Map<string, Want>();
    for (const e of result.errors) if (e.want && !(wantKey(e.want) in lookups)) wants.set(wantKey(e.want), e.want);
    if (wants.size === 0) break;
    await Promise.all([...wants].map(async ([k, w]) => (lookups[k] = await answer(w, places))));
    result = await compile({ ...lookups });
  }
  return result;
}
