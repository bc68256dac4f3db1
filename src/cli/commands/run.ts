/**
 * `faultline run [FILE]`: inside a git working tree, run that tree's pipeline with the
 * repository as the job sources, follow it live, exit with its result.
 *
 * The files run are the working tree's as they are now (uncommitted changes included, with
 * a warning; --committed runs HEAD): they are written to a commit of their own under
 * refs/faultline/run, child of HEAD, which the runners fetch — the user's branch, index and
 * stash are not touched. State stays in the project's .faultline/ (why, failures, logs and
 * up find it there); a `faultline up` already serving that directory gets the pipeline.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { PipelineJson } from '../../protocol/user-api.js';
import { ApiRequestError, api, resolveConnection, type Connection } from '../api-client.js';
import type { Embedded } from '../embedded.js';
import { bold, dim, printJson, red, safe, yellow } from '../format.js';
import { follow, report } from '../follow.js';
import { runningServer } from '../local.js';
import { parseVars } from '../vars.js';

export interface RunOptions {
  url?: string;
  token?: string;
  data?: string;
  ref?: string;
  var?: string[];
  runners?: string;
  quiet?: boolean;
  json?: boolean;
  committed?: boolean;
}

/** Exit codes: 0 success, 1 failed, 2 refused config / usage, 3 canceled or blocked. */
export async function runCommand(file: string | undefined, opts: RunOptions): Promise<number> {
  const say = opts.json ? (l: string) => console.error(l) : (l: string) => console.log(l);
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  let root: string;
  try {
    root = git('rev-parse', '--show-toplevel');
  } catch {
    console.error(red('faultline run: not inside a git working tree'));
    return 2;
  }
  let head: string;
  try {
    head = git('-C', root, 'rev-parse', '--verify', '--quiet', 'HEAD^{commit}');
  } catch {
    console.error(red(`faultline run: the repository ${root} has no commits yet; commit once (git add -A && git commit) and run again`));
    return 2;
  }
  const ref = opts.ref ?? currentRef(git, root);
  const defaultBranch = defaultBranchOf(git, root, ref);
  const dataDir = resolve(root, opts.data ?? '.faultline');
  // The data dir (tokens, database) is never part of the files run, nor a "change".
  const rel = relative(root, dataDir);
  const spec = ['--', '.', ...(rel && !rel.startsWith('..') && !isAbsolute(rel) ? [`:(exclude)${rel}`] : [])];
  let sha = head;
  if (!opts.committed) {
    const status = execFileSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=normal', ...spec], { encoding: 'utf8' });
    const dirty = status.split('\n').filter(Boolean);
    if (dirty.length > 0) {
      say(
        yellow(
          `warning: ${dirty.length} uncommitted change(s) (${dirty
            .slice(0, 3)
            .map((l) => safe(l.slice(3)))
            .join(', ')}${dirty.length > 3 ? ', …' : ''}); running the working tree's files — --committed runs HEAD`,
        ),
      );
      sha = worktreeCommit(root, head, spec);
    }
  }
  const path = file ? (isAbsolute(file) ? file : resolve(file)) : join(root, '.gitlab-ci.yml');
  let yaml: string;
  try {
    yaml = opts.committed && !file ? git('-C', root, 'show', `${head}:.gitlab-ci.yml`) : readFileSync(path, 'utf8');
  } catch (e) {
    console.error(red(`cannot read ${path}: ${(e as Error).message}`));
    return 2;
  }
  const vars = parseVars(opts.var);
  if ('error' in vars) {
    console.error(red(vars.error));
    return 2;
  }
  const { variables } = vars;

  let embedded: Embedded | null = null;
  let builds: string | null = null;
  let conn: Connection;
  const serving = opts.url || process.env.FAULTLINE_URL ? null : runningServer(dataDir);
  if (opts.url || process.env.FAULTLINE_URL) {
    conn = resolveConnection({ url: opts.url, token: opts.token });
  } else if (serving) {
    conn = resolveConnection({ url: serving, data: dataDir });
    say(dim(`submitting to the faultline up serving ${dataDir} (${serving})`));
  } else {
    const { startEmbedded } = await import('../embedded.js');
    builds = mkdtempSync(join(tmpdir(), 'faultline-run-builds-'));
    embedded = await startEmbedded({
      dataDir,
      buildsDir: builds,
      port: 0,
      runners: Number(opts.runners ?? 2),
      quiet: true,
      includesFromWorktree: true,
    });
    conn = { url: embedded.url, token: embedded.apiToken };
  }
  try {
    let pipeline: PipelineJson;
    try {
      pipeline = await api<PipelineJson>(conn, 'POST', '/api/v1/pipelines', {
        yaml,
        ref,
        variables,
        project: root.split('/').pop(),
        repository: { url: root, sha },
        // A push of HEAD, as GitLab would see it: rules: changes compare it with its parent.
        source: 'push',
        default_branch: defaultBranch,
      });
    } catch (e) {
      if (e instanceof ApiRequestError && e.body.details) {
        for (const d of e.body.details) console.error(red(safe(`${d.file ?? path}:${d.line ?? 0}:${d.column ?? 0}: ${d.message}`))); // messages begin with their path
      }
      console.error(red(safe(`pipeline refused: ${(e as Error).message}`)));
      return 2;
    }
    for (const w of pipeline.warnings) say(yellow(safe(`${w.file ?? path}:${w.line}:${w.column}: warning: ${w.message}`)));
    if (!serving && !opts.url && !process.env.FAULTLINE_URL && /^\s*image:/m.test(yaml))
      say(yellow("note: image: is ignored by the shell executor: the jobs run on this machine, with this machine's tools"));
    const link = embedded
      ? dim(`  (state kept in ${dataDir}; \`faultline up\` there shows it)`)
      : dim(`  ${conn.url}/#/pipelines/${pipeline.id}`);
    say(bold(`pipeline #${pipeline.id} on ${safe(ref)} @ ${sha.slice(0, 8)}`) + link);
    pipeline = await follow(conn, pipeline.id, {
      quiet: (opts.quiet ?? false) || (opts.json ?? false),
      say,
      interactive: process.stdin.isTTY === true && !opts.json,
    });
    const code = await report(conn, pipeline, say); // await: `finally` must not stop the system mid-report
    if (opts.json) printJson(await api<PipelineJson>(conn, 'GET', `/api/v1/pipelines/${pipeline.id}`));
    return code;
  } finally {
    await embedded?.stop();
    if (builds) rmSync(builds, { recursive: true, force: true });
  }
}

/**
 * The working tree (tracked and untracked files, .gitignore respected) as a commit whose
 * parent is HEAD, through a temporary index; kept reachable under refs/faultline/run so a
 * runner can fetch it.
 */
function worktreeCommit(root: string, head: string, pathspec: string[]): string {
  const tmp = mkdtempSync(join(tmpdir(), 'faultline-index-'));
  try {
    const env = { ...process.env, GIT_INDEX_FILE: join(tmp, 'index') };
    const g = (...a: string[]) =>
      execFileSync('git', ['-C', root, ...a], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    g('read-tree', head);
    g('add', '-A', ...pathspec);
    const tree = g('write-tree');
    const commit = g(
      '-c',
      'user.name=faultline run',
      '-c',
      'user.email=faultline-run@localhost',
      'commit-tree',
      tree,
      '-p',
      head,
      '-m',
      'faultline run: the working tree',
    );
    g('update-ref', 'refs/faultline/run', commit);
    return commit;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

type Git = (...args: string[]) => string;

/** The branch checked out, or `refs/tags/<tag>` for a detached HEAD at a tag. */
function currentRef(git: Git, root: string): string {
  const branch = git('-C', root, 'rev-parse', '--abbrev-ref', 'HEAD');
  if (branch !== 'HEAD') return branch;
  try {
    return `refs/tags/${git('-C', root, 'describe', '--tags', '--exact-match', 'HEAD')}`;
  } catch {
    return branch;
  }
}

/** origin's HEAD, else main or master if such a branch exists, else the current branch. */
function defaultBranchOf(git: Git, root: string, ref: string): string {
  try {
    return git('-C', root, 'symbolic-ref', '--short', 'refs/remotes/origin/HEAD').replace(/^origin\//, '');
  } catch {
    for (const b of ['main', 'master']) {
      try {
        git('-C', root, 'rev-parse', '--verify', '--quiet', `refs/heads/${b}`);
        return b;
      } catch {
        /* next */
      }
    }
    return ref.replace(/^refs\/(heads|tags)\//, '');
  }
}
