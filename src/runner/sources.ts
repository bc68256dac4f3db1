/**
 * get_sources: puts the job's commit into the build dir with `git` child processes.
 *
 *   GIT_STRATEGY (job.git.strategy)
 *     clone  wipe the build dir, init, fetch, check out
 *     fetch  reuse the build dir's repository when there is one (else as clone),
 *            fetch, check out, `git clean -ffdx`
 *     none   leave the build dir as it is
 *   GIT_DEPTH (job.git.depth) → `fetch --depth N`; a local path is fetched through
 *   `file://` because git ignores --depth for plain local paths.
 *
 * Whose fault a failure is (the reason reported, stage get_sources):
 *   - git could not talk to the remote (unreachable, refused, DNS, TLS, auth,
 *     "does not appear to be a git repository")  → runner_external_dependency_failure:
 *     the git server is a dependency of the runner, not something the job's code controls.
 *   - the remote answered but lacks the ref/sha ("couldn't find remote ref", "not our
 *     ref", "reference is not a tree"; also a GIT_DEPTH too shallow for the sha)
 *     → script_failure: the pipeline asked for a commit that isn't there (force-push,
 *     deleted branch, depth set by the project) — the developers' side to fix.
 *   - git itself cannot run, or the build dir cannot be written → runner_system_failure.
 * The message carries git's stderr so the classifier and the log show the real cause.
 */
import { spawn } from 'node:child_process';
import { hostEnv } from './host-env.js';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { JobPayload } from '../protocol/runner-api.js';
import { BuildError, type TraceSink } from './executor.js';
import type { FailureReason } from '../protocol/failure.js';

export interface SourcesOptions {
  job: Pick<JobPayload, 'repository' | 'git'>;
  buildDir: string;
  trace: TraceSink;
  signal?: AbortSignal;
  /** Extra environment for git (e.g. GIT_SSL_NO_VERIFY); the runner's own env is the base. */
  env?: Record<string, string>;
}

/** `/srv/repo` or `./repo` → `file:///srv/repo` so that --depth is honoured. */
export function normalizeRepoUrl(url: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url;
  if (/^[^/\s]+@[^/\s]+:/.test(url)) return url; // scp-like ssh: git@host:group/project
  const abs = isAbsolute(url) ? url : resolve(url);
  return 'file://' + abs;
}

const MISSING_REF = [
  /couldn't find remote ref/i,
  /not our ref/i,
  /unadvertised object/i,
  /reference is not a tree/i,
  /did not match any file\(s\) known to git/i,
  /unable to read tree/i,
  /invalid reference/i,
  /no such remote ref/i,
  /bad object/i,
];

export function reasonForGitError(stderr: string): FailureReason {
  return MISSING_REF.some((re) => re.test(stderr)) ? 'script_failure' : 'runner_external_dependency_failure';
}

interface GitResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function git(args: string[], cwd: string, o: SourcesOptions): Promise<GitResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('git', args, {
      cwd,
      env: {
        ...hostEnv(),
        // A checkout handed to a job user (--user) is owned by that user: git must still trust it.
        ...(process.env.GIT_CONFIG_COUNT ? {} : { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'safe.directory', GIT_CONFIG_VALUE_0: '*' }),
        ...o.env,
        GIT_TERMINAL_PROMPT: '0',
        GIT_ASKPASS: 'echo',
        LC_ALL: 'C',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: o.signal,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.once('error', (err) => {
      if ((err as Error).name === 'AbortError') return reject(err);
      reject(new BuildError(`get_sources: cannot run git: ${err.message}`, 'runner_system_failure', 'get_sources'));
    });
    child.once('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** Runs git, streams its stderr progress lines to the trace, throws a typed error on failure. */
async function must(args: string[], cwd: string, o: SourcesOptions, what: string): Promise<GitResult> {
  const r = await git(args, cwd, o);
  if (r.stderr.trim()) o.trace.write(r.stderr.endsWith('\n') ? r.stderr : r.stderr + '\n');
  if (r.code === 0) return r;
  const detail = r.stderr.trim() || `git exited with ${r.code}`;
  throw new BuildError(`get_sources: ${what} failed: ${detail}`, reasonForGitError(r.stderr), 'get_sources', { exitCode: r.code });
}

function emptyDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
}

export async function getSources(o: SourcesOptions): Promise<void> {
  const { repository, git: g } = o.job;
  const dir = o.buildDir;
  if (!repository) {
    mkdirSync(dir, { recursive: true });
    o.trace.line('Skipping Git repository setup (no repository)');
    return;
  }
  if (g.strategy === 'none') {
    mkdirSync(dir, { recursive: true });
    o.trace.line('Skipping Git repository setup (GIT_STRATEGY=none)');
    return;
  }
  const url = normalizeRepoUrl(repository.url);
  const depth = g.depth && g.depth > 0 ? ['--depth', String(g.depth)] : [];
  const reuse = g.strategy === 'fetch' && existsSync(join(dir, '.git'));
  try {
    if (reuse) {
      o.trace.line(`Fetching changes${depth.length ? ` with git depth set to ${g.depth}` : ''}...`);
      o.trace.line(`Reinitialized existing Git repository in ${dir}`);
      await must(['remote', 'set-url', 'origin', url], dir, o, 'git remote set-url');
    } else {
      o.trace.line(
        `${g.strategy === 'fetch' ? 'Fetching changes' : 'Cloning repository'}${depth.length ? ` with git depth set to ${g.depth}` : ''}...`,
      );
      emptyDir(dir);
      await must(['init', '-q'], dir, o, 'git init');
      await must(['remote', 'add', 'origin', url], dir, o, 'git remote add');
    }
  } catch (err) {
    if (err instanceof BuildError) throw err;
    throw new BuildError(`get_sources: cannot prepare ${dir}: ${(err as Error).message}`, 'runner_system_failure', 'get_sources');
  }
  o.trace.line(`Checking out ${repository.sha ? repository.sha.slice(0, 8) : repository.ref} as ${repository.ref}...`);
  // Fetch the ref (branch or tag) first; if the sha is not in what came, ask for the sha
  // itself (protocol v2 servers allow it), which also covers shallow depths.
  // With a sha the ref is only a hint: a ref the remote lacks is not fatal while the sha can still be fetched.
  // --end-of-options: a ref like "--upload-pack=…" must stay a ref, never become an option.
  const refFetch = ['-c', 'protocol.version=2', 'fetch', '--prune', '--no-tags', ...depth, '--end-of-options', 'origin', repository.ref];
  const refOk = repository.sha
    ? (await git(refFetch, dir, o)).code === 0
    : (await must(refFetch, dir, o, `git fetch of "${repository.ref}"`), true);
  let target = 'FETCH_HEAD';
  if (repository.sha && !/^[0-9a-f]{4,64}$/i.test(repository.sha)) {
    // It reaches `git checkout`, which has no --end-of-options: only a hex commit id may.
    throw new BuildError(`get_sources: "${repository.sha}" is not a commit id`, 'script_failure', 'get_sources');
  }
  if (repository.sha) {
    const has = refOk ? await git(['cat-file', '-e', `${repository.sha}^{commit}`], dir, o) : { code: 1 };
    if (has.code !== 0)
      await must(
        ['-c', 'protocol.version=2', 'fetch', '--no-tags', ...depth, '--end-of-options', 'origin', repository.sha],
        dir,
        o,
        `git fetch of ${repository.sha}`,
      );
    target = repository.sha;
  }
  await must(['-c', 'advice.detachedHead=false', 'checkout', '-f', '-q', target], dir, o, `git checkout ${target}`);
  if (reuse) await must(['clean', '-ffdx', '-q'], dir, o, 'git clean');
  const head = await must(['rev-parse', 'HEAD'], dir, o, 'git rev-parse');
  o.trace.line(`HEAD is now at ${head.stdout.trim().slice(0, 8)}`);
}
