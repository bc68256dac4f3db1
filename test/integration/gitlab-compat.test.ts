/**
 * The silent differences of issue 10, end to end through `faultline run` in a real git
 * working tree (real coordinator, shell runners, git): each of these once ran where
 * GitLab would not, or ran differently without saying so. Cases written from GitLab's
 * keyword reference (https://docs.gitlab.com/ee/ci/yaml/ and /ee/ci/variables/).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { commit } from '../helpers/run-output.js';

/** The CLI with both streams as one text (the assertions read the whole output). */
async function cli(args: string[], cwd: string): Promise<{ status: number | null; out: string }> {
  const r = await runCli(args, cwd, {}, 120_000);
  return { status: r.status, out: r.stdout + r.stderr };
}

function repo(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  commit(dir, files, 'initial commit');
}

const jobLine = (out: string, name: string, status: string) =>
  new RegExp(`^\\s+\\S+ \\S+\\s+${name.replace(/[[\]/]/g, '\\$&')}\\s+${status}\\b`, 'm').test(out);

const PIPELINE = `
variables:
  BASE: /base
  DERIVED: "$BASE/derived"
  ESCAPED: "$$BASE"
  RAW:
    value: "$BASE/raw"
    expand: false
  LEVEL: global
  SECRET:
    value: hunter2-very-secret
    masked: true

deploy-prod:
  stage: deploy
  only: [main]
  script: echo "DEPLOYING TO PRODUCTION"

check-vars:
  variables:
    LEVEL: job
  script:
    - test "$DERIVED" = /base/derived
    - test "$ESCAPED" = '$BASE'
    - test "$RAW" = '$BASE/raw'
    - test "$LEVEL" = pipeline
    - test "$CI_COMMIT_BRANCH" = feature/login
    - test "$CI_COMMIT_REF_SLUG" = feature-login
    - test "$CI_DEFAULT_BRANCH" = main
    - test "$CI_PIPELINE_SOURCE" = push
    - test "$CI_COMMIT_TITLE" = "change the source"
    - test "$CI_JOB_NAME_SLUG" = check-vars
    - test "$CI_JOB_STATUS" = running
    - test "$CI_NODE_TOTAL" = 1
    - test -z "$CI_COMMIT_TAG"

test:
  parallel:
    matrix:
      - OS: [linux, mac]
  script:
    - test -n "$OS"
    - test "$CI_NODE_TOTAL" = 2

src-changed:
  rules:
    - changes: [src/**/*]
  script: echo src changed

docs-changed:
  rules:
    - changes: [docs/**/*]
  script: echo docs changed, must not run

has-dockerfile:
  rules:
    - exists: [Dockerfile]
  script: echo has a Dockerfile

report:
  stage: deploy
  needs: [test]
  script:
    - echo "derived=$DERIVED secret=$SECRET env=$CI_ENVIRONMENT_SLUG"
    - exit 7
  environment:
    name: review/$CI_COMMIT_REF_SLUG
`;

test('faultline run (real git, coordinator, shell runners): only/except, variables, matrix, changes/exists, masking as GitLab', async () => {
  const dir = tempDir();
  try {
    const r = join(dir.path, 'repo');
    repo(r, { '.gitlab-ci.yml': PIPELINE, Dockerfile: 'FROM scratch\n', 'docs/index.md': '# docs\n', 'src/a.txt': 'a\n' });
    execFileSync('git', ['checkout', '-q', '-b', 'feature/login'], { cwd: r });
    commit(r, { 'src/a.txt': 'b\n' }, 'change the source\n\nlonger description');
    const res = await cli(['run', '--var', 'LEVEL=pipeline'], r);
    const out = res.out;
    assert.equal(res.status, 1, out);
    // only: [main] on a feature branch: not in the pipeline at all.
    assert.doesNotMatch(out, /deploy-prod|DEPLOYING TO PRODUCTION/);
    assert.ok(jobLine(out, 'check-vars', 'success'), out);
    assert.ok(jobLine(out, 'test: [linux]', 'success'), out);
    assert.ok(jobLine(out, 'test: [mac]', 'success'), out);
    assert.ok(jobLine(out, 'src-changed', 'success'), out);
    assert.ok(jobLine(out, 'has-dockerfile', 'success'), out);
    assert.doesNotMatch(out, /docs-changed/);
    // The failing job's log: expanded values, the masked one hidden, the environment slug.
    assert.match(out, /\| derived=\/base\/derived secret=\[MASKED\] env=review-feature-lo-[a-z0-9]{6}$/m);
    assert.doesNotMatch(out, /hunter2/);
    assert.ok(jobLine(out, 'report', 'failed'), out);
  } finally {
    dir.dispose();
  }
});

test('faultline run: rules when: manual blocks the pipeline (exit 3); multi-project trigger: project is refused naming the job (exit 2)', async () => {
  const dir = tempDir();
  try {
    const r = join(dir.path, 'repo');
    repo(r, {
      '.gitlab-ci.yml':
        'build: {stage: build, script: echo built}\ndeploy:\n  stage: deploy\n  rules:\n    - when: manual\n  script: echo deployed\nafter: {stage: .post, script: echo after}\n',
    });
    const blocked = await cli(['run'], r);
    assert.equal(blocked.status, 3, blocked.out);
    assert.ok(jobLine(blocked.out, 'build', 'success'), blocked.out);
    assert.ok(jobLine(blocked.out, 'deploy', 'manual'), blocked.out);
    assert.match(blocked.out, /pipeline #1 blocked/);
    assert.doesNotMatch(blocked.out, /after\s+success/);

    const t = join(dir.path, 'trigger');
    // A multi-project pipeline needs a GitLab project to run in: refused at creation, naming the job.
    repo(t, {
      '.gitlab-ci.yml': 'build: {script: echo built}\ndeploy-downstream:\n  trigger:\n    project: group/deployer\n    strategy: depend\n',
    });
    const refused = await cli(['run'], t);
    assert.equal(refused.status, 2, refused.out);
    assert.match(
      refused.out,
      /:4:5: deploy-downstream\.trigger\.project: deploy-downstream: multi-project pipelines \(trigger: project\) are not run/,
    );
    assert.doesNotMatch(refused.out, /script is required|built/);
  } finally {
    dir.dispose();
  }
});

test('faultline run with 2 runners: resource_group lets one job of the group run at a time', async () => {
  const dir = tempDir();
  try {
    const r = join(dir.path, 'repo');
    const lock = join(dir.path, 'lock');
    // Each job holds a lock directory for 3 s; two at once would collide on mkdir.
    const job = (n: string, group: string) =>
      `${n}:\n  resource_group: ${group}\n  script:\n    - mkdir ${lock}\n    - sleep 3\n    - rmdir ${lock}\n`;
    repo(r, { '.gitlab-ci.yml': `variables: {ENV: prod}\n${job('deploy-a', 'deploy-$ENV')}${job('deploy-b', 'deploy-prod')}` });
    const res = await cli(['run', '--runners', '2'], r);
    assert.equal(res.status, 0, res.out);
    assert.ok(jobLine(res.out, 'deploy-a', 'success'), res.out);
    assert.ok(jobLine(res.out, 'deploy-b', 'success'), res.out);
  } finally {
    dir.dispose();
  }
});
