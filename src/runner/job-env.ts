/** Per-job environment, secrets to mask, and host directories. */
import { join } from 'node:path';
import { expandVariables } from '../pipeline/variables.js';
import type { JobPayload } from '../protocol/runner-api.js';

export interface RunnerIdentity {
  id: number | null;
  name: string;
  tags: string[];
  /** Coordinator URL (CI_SERVER_URL). */
  url: string;
}

export interface JobDirs {
  buildDir: string;
  tmpDir: string;
  /** True when the build dir belongs to this job alone and goes away at cleanup. */
  perJob: boolean;
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '') || 'x';

/** Project directory name from a repository URL: `…/group/app.git` → `app`. */
export function projectName(url: string): string {
  const last =
    url
      .replace(/[/\\]+$/, '')
      .split(/[/\\:]/)
      .pop() ?? '';
  return safe(last.replace(/\.git$/, ''));
}

/**
 * `<buildsDir>/<runner>/<slot>/<project>` like gitlab-runner, so GIT_STRATEGY=fetch can
 * reuse a checkout; the concurrency slot keeps two jobs of one runner apart. Jobs
 * without a repository get a throw-away `job-<id>` dir. Scripts go in `<build>.tmp`.
 */
export function jobDirs(
  buildsDir: string,
  runner: Pick<RunnerIdentity, 'id' | 'name'>,
  slot: number,
  job: Pick<JobPayload, 'id' | 'repository'>,
): JobDirs {
  const runnerKey = runner.id !== null ? `runner-${runner.id}` : safe(runner.name);
  const base = join(buildsDir, runnerKey, String(slot));
  const buildDir = join(base, job.repository ? projectName(job.repository.url) : `job-${job.id}`);
  return { buildDir, tmpDir: `${buildDir}.tmp`, perJob: !job.repository };
}

/**
 * Job variables with the runner's own CI_* on top (those only the runner knows, and the
 * job identity, which the payload states authoritatively), then `$VAR` references in
 * the values expanded against all of them, as gitlab-runner does (so `$CI_PROJECT_DIR/x`
 * works); `expand: false` variables stay as written.
 */
export function jobEnv(
  job: JobPayload,
  o: { runner: RunnerIdentity; buildDir: string; buildsDir: string; slot: number },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of job.variables) env[v.key] = v.value;
  Object.assign(env, {
    CI_JOB_STATUS: 'running',
    CI: 'true',
    FAULTLINE_CI: 'true',
    CI_JOB_ID: String(job.id),
    CI_JOB_NAME: job.name,
    CI_JOB_STAGE: job.stage,
    CI_JOB_TOKEN: job.token,
    CI_JOB_TIMEOUT: String(job.timeout_seconds),
    CI_PIPELINE_ID: String(job.pipeline_id),
    CI_PROJECT_DIR: o.buildDir,
    CI_BUILDS_DIR: o.buildsDir,
    CI_CONCURRENT_ID: String(o.slot),
    CI_SERVER_URL: o.runner.url.replace(/\/+$/, ''),
    CI_RUNNER_ID: o.runner.id === null ? '' : String(o.runner.id),
    CI_RUNNER_DESCRIPTION: o.runner.name,
    CI_RUNNER_TAGS: JSON.stringify(o.runner.tags),
  });
  if (job.repository) {
    env.CI_REPOSITORY_URL ??= job.repository.url;
    if (job.repository.sha) env.CI_COMMIT_SHA ??= job.repository.sha;
    env.CI_COMMIT_REF_NAME ??= job.repository.ref;
  }
  const raw = new Set(job.variables.filter((v) => v.raw).map((v) => v.key));
  // The payload's own values only: the runner's are facts, never templates.
  const own = new Set(job.variables.map((v) => v.key));
  const list = Object.entries(env).map(([key, value]) => ({ key, value, raw: raw.has(key) || !own.has(key) }));
  return Object.fromEntries(expandVariables(list).map((v) => [v.key, v.value]));
}

/** Values to hide in the log: masked variables (as written and as expanded) and the job token. */
export function jobMasks(job: JobPayload, env: Record<string, string> = {}): string[] {
  const masked = job.variables.filter((v) => v.masked);
  const values = [...masked.map((v) => v.value), ...masked.map((v) => env[v.key] ?? ''), job.token];
  return [...new Set(values)].filter((v) => v.length > 0);
}
