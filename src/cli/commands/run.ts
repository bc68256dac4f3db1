/**
 * `faultline run [FILE]`: inside a git working tree, run that tree's pipeline at HEAD
 * with the repository as the job sources, follow it live, exit with its result.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { JobJson, PipelineJson } from '../../protocol/user-api.js';
import { ApiRequestError, api, resolveConnection, type Connection } from '../api-client.js';
import { startEmbedded, type Embedded } from '../embedded.js';
import { bold, describeFailure, dim, duration, red, statusIcon, yellow } from '../format.js';

export interface RunOptions {
  url?: string;
  token?: string;
  ref?: string;
  var?: string[];
  runners?: string;
  quiet?: boolean;
}

/** Exit codes: 0 success, 1 failed, 2 refused config / usage, 3 canceled or blocked. */
export async function runCommand(file: string | undefined, opts: RunOptions): Promise<number> {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  let root: string;
  try {
    root = git('rev-parse', '--show-toplevel');
  } catch {
    console.error(red('faultline run: not inside a git working tree'));
    return 2;
  }
  const sha = git('-C', root, 'rev-parse', 'HEAD');
  const ref = opts.ref ?? currentRef(git, root);
  const defaultBranch = defaultBranchOf(git, root, ref);
  const path = file ? (isAbsolute(file) ? file : resolve(file)) : join(root, '.gitlab-ci.yml');
  let yaml: string;
  try {
    yaml = readFileSync(path, 'utf8');
  } catch (e) {
    console.error(red(`cannot read ${path}: ${(e as Error).message}`));
    return 2;
  }
  const variables = Object.fromEntries(
    (opts.var ?? []).map((kv) => {
      const i = kv.indexOf('=');
      return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );

  let embedded: Embedded | null = null;
  let tmp: string | null = null;
  let conn: Connection;
  if (opts.url || process.env.FAULTLINE_URL) {
    conn = resolveConnection({ url: opts.url, token: opts.token });
  } else {
    tmp = mkdtempSync(join(tmpdir(), 'faultline-run-'));
    embedded = await startEmbedded({
      dataDir: join(tmp, 'data'),
      buildsDir: join(tmp, 'builds'),
      port: 0,
      runners: Number(opts.runners ?? 2),
      quiet: true,
      includesFromWorktree: true,
    });
    conn = { url: embedded.url, token: embedded.apiToken };
  }
  const stop = async () => {
    await embedded?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  };
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
        for (const d of e.body.details) console.error(red(`${d.file ?? path}:${d.line ?? 0}:${d.column ?? 0}: ${d.message}`)); // messages begin with their path
      }
      console.error(red(`pipeline refused: ${(e as Error).message}`));
      return 2;
    }
    for (const w of pipeline.warnings) console.log(yellow(`${w.file ?? path}:${w.line}:${w.column}: warning: ${w.message}`));
    console.log(bold(`pipeline #${pipeline.id} on ${ref} @ ${sha.slice(0, 8)}`) + dim(`  ${conn.url}/#/pipelines/${pipeline.id}`));
    pipeline = await follow(conn, pipeline.id, opts.quiet ?? false);
    return await report(conn, pipeline); // await: `finally` must not stop the system mid-report
  } finally {
    await stop();
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

const DONE = new Set(['success', 'failed', 'canceled', 'skipped', 'blocked']);

/** A pipeline's jobs, and its child pipelines' jobs named `<trigger job> -> <child job>` (GitLab's downstream view). */
async function gather(conn: Connection, id: number, prefix: string, depth = 0): Promise<{ p: PipelineJson; jobs: JobJson[]; done: boolean }> {
  const p = await api<PipelineJson>(conn, 'GET', `/api/v1/pipelines/${id}`);
  const jobs: JobJson[] = [];
  let done = DONE.has(p.status) && !(p.jobs ?? []).some((j) => j.status === 'failed' && !j.failure);
  for (const j of p.jobs ?? []) {
    jobs.push(prefix ? { ...j, name: `${prefix}${j.name}` } : j);
    if (j.downstream_pipeline_id !== undefined && depth < 3) {
      const child = await gather(conn, j.downstream_pipeline_id, `${prefix}${j.name} -> `, depth + 1);
      jobs.push(...child.jobs);
      done &&= child.done;
    }
  }
  return { p, jobs, done };
}

async function follow(conn: Connection, id: number, quiet: boolean): Promise<PipelineJson> {
  const seen = new Map<number, string>();
  for (;;) {
    const { p, jobs, done } = await gather(conn, id, '');
    for (const j of jobs) {
      if (seen.get(j.id) === j.display_status) continue;
      seen.set(j.id, j.display_status);
      if (!quiet && j.status !== 'created') {
        const extra = j.note ? dim(` (${j.note})`) : j.exit_code !== null && j.exit_code !== 0 ? dim(` exit ${j.exit_code}`) : '';
        const child = j.downstream_pipeline_id !== undefined ? dim(` child pipeline #${j.downstream_pipeline_id}`) : '';
        console.log(
          `  ${statusIcon(j.display_status)} ${j.stage.padEnd(10)} ${j.name.padEnd(24)} ${j.display_status}${extra}${child} ${dim(duration(j.started_at, j.finished_at))}`,
        );
      }
    }
    if (done) return { ...p, jobs };
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function report(conn: Connection, p: PipelineJson): Promise<number> {
  const failed = (p.jobs ?? []).filter((j: JobJson) => j.status === 'failed' && j.display_status === 'failed');
  for (const j of failed) {
    console.log('');
    for (const line of describeFailure(j)) console.log(line);
    const trace = await api<string>(conn, 'GET', `/api/v1/jobs/${j.id}/trace`);
    const tail = String(trace).trimEnd().split('\n').slice(-10);
    console.log(dim(`  --- last ${tail.length} log lines ---`));
    for (const l of tail) console.log(dim('  | ') + l);
  }
  const halted = p.halted_by ? ` (passed early by job ${p.halted_by.name})` : '';
  const cls = p.failure_class ? ` — ${p.failure_class}` : '';
  console.log(`\n${statusIcon(p.display_status)} pipeline #${p.id} ${bold(p.display_status)}${halted}${cls}`);
  if (p.status === 'success') return 0;
  if (p.status === 'failed') return 1;
  if (p.status === 'blocked') console.log(yellow('blocked on a required manual job: play it in the UI or via POST /api/v1/jobs/:id/play'));
  return 3;
}
