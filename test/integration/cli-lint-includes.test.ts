/**
 * `faultline lint` as GitLab's CI Lint: includes from the working tree and from a fake
 * GitLab API (FAULTLINE_GITLAB_URL/TOKEN), a simulated context (--ref/--source/--var),
 * unreachable includes and empty contexts as warnings; `faultline run` with an include.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { startFakeGitLab, type FakeGitLab } from '../fakes/gitlab-api.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli } from '../helpers/cli.js';

const cli = (args: string[], cwd?: string, env: Record<string, string> = {}) => runCli(args, cwd, env);

function writeRepo(dir: string, files: Record<string, string>, commit = true): void {
  for (const [p, t] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), t);
  }
  const git = (...a: string[]) => execFileSync('git', a, { cwd: dir, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  if (!commit) return;
  git('add', '-A');
  git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'init');
}

let gl: FakeGitLab;
before(async () => {
  gl = await startFakeGitLab({
    token: 'tok',
    projects: {
      'ops/ci': {
        main: {
          'deploy.yml': 'deploy:\n  stage: deploy\n  script: ./deploy\n  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n',
        },
      },
    },
  });
});
after(() => gl.close());

const CI = [
  'include:',
  '  - local: ci/*.yml',
  '  - project: ops/ci',
  '    file: deploy.yml',
  'stages: [build, test, deploy]',
  'unit:',
  '  stage: test',
  '  script: npm test',
  '  rules:',
  '    - if: $CI_PIPELINE_SOURCE == "merge_request_event" || $CI_COMMIT_BRANCH',
  '',
].join('\n');

test('faultline lint: includes from the working tree and the fake GitLab API; the simulated context decides the jobs', async () => {
  const d = tempDir();
  try {
    writeRepo(
      d.path,
      {
        '.gitlab-ci.yml': CI,
        'ci/build.yml':
          'build:\n  stage: build\n  script: make\n  rules:\n    - if: $NIGHTLY == "1"\n      when: never\n    - when: on_success\n',
      },
      false,
    );
    const env = { FAULTLINE_GITLAB_URL: gl.url, FAULTLINE_GITLAB_TOKEN: 'tok' };
    const push = await cli(['lint', '.gitlab-ci.yml'], d.path, env);
    assert.equal(push.status, 0, push.stdout + push.stderr);
    assert.match(push.stdout, /simulating a push to main \(the default branch\)/);
    assert.match(push.stdout, /valid — 3 job\(s\) in 3 stage\(s\)/);

    const mr = await cli(['lint', '.gitlab-ci.yml', '--source', 'merge_request_event', '--ref', 'feature/x'], d.path, env);
    assert.equal(mr.status, 0, mr.stdout);
    assert.match(mr.stdout, /simulating a merge request pipeline from feature\/x into main/);
    assert.match(mr.stdout, /valid — 2 job\(s\)/, 'deploy runs only on the default branch');

    const nightly = await cli(['lint', '.gitlab-ci.yml', '--ref', 'dev', '--var', 'NIGHTLY=1'], d.path, env);
    assert.match(nightly.stdout, /simulating a push to dev with NIGHTLY\n.*valid — 1 job\(s\) in 1 stage\(s\) for a push to dev/);

    const bad = await cli(['lint', '.gitlab-ci.yml', '--source', 'pushh'], d.path, env);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--source pushh: expected one of push, web/);
  } finally {
    d.dispose();
  }
});

test('faultline lint: an unreachable include is a warning naming what was not checked; no jobs for a context is a warning', async () => {
  const d = tempDir();
  try {
    const ci = 'include:\n  - project: ops/ci\n    file: deploy.yml\nunit:\n  extends: .from-the-include\n';
    writeRepo(
      d.path,
      { '.gitlab-ci.yml': ci, 'scheduled.yml': 'nightly:\n  script: ./soak\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "schedule"\n' },
      false,
    );
    const r = await cli(['lint', '.gitlab-ci.yml'], d.path, { FAULTLINE_GITLAB_URL: '', FAULTLINE_GITLAB_TOKEN: '' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /warning: include\[0\]: include ops\/ci:deploy\.yml: no GitLab instance is configured .* — not checked: the jobs and keywords it defines/,
    );
    assert.match(
      r.stdout,
      /there is no job or template named '\.from-the-include' \(it may be defined in an include that could not be fetched\)/,
    );
    assert.match(r.stdout, /valid as far as it could be checked: 1 include\(s\) could not be fetched/);
    assert.match(r.stdout, /not checked: include ops\/ci:deploy\.yml/);

    const sched = await cli(['lint', 'scheduled.yml'], d.path);
    assert.equal(sched.status, 0, sched.stdout);
    assert.match(sched.stdout, /warning: no jobs for a push to main \(the default branch\): no jobs are left after evaluating rules/);
    assert.match(sched.stdout, /valid — but no jobs would run for a push to main/);
    const sched2 = await cli(['lint', 'scheduled.yml', '--source', 'schedule'], d.path);
    assert.match(sched2.stdout, /valid — 1 job\(s\) in 1 stage\(s\) for a schedule pipeline to main/);

    const missing = await cli(['lint', '.gitlab-ci.yml'], d.path, { FAULTLINE_GITLAB_URL: gl.url, FAULTLINE_GITLAB_TOKEN: 'wrong' });
    assert.equal(missing.status, 1, 'a reachable GitLab that says no is an error, not a skipped check');
    assert.match(missing.stdout, /Project `ops\/ci` not found or access denied!/);
  } finally {
    d.dispose();
  }
});

test('faultline run: a local include from the working tree becomes jobs that run', async () => {
  const d = tempDir();
  try {
    writeRepo(d.path, {
      '.gitlab-ci.yml': 'include: ci/jobs.yml\n',
      'ci/jobs.yml': 'from-include:\n  script:\n    - echo "included job ran"\n',
    });
    const r = await cli(['run'], d.path);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /from-include/);
    assert.match(r.stdout, /pipeline #1 success/);
  } finally {
    d.dispose();
  }
});
