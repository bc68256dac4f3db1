/**
 * `rules: changes: compare_to` and `rules: exists: project/ref` end to end through `faultline run`
 * in a real git repository (real coordinator, shell runners, git) and a fake GitLab REST API on
 * loopback (test/fakes/gitlab-api.ts: the repository tree API as GitLab serves it). Cases written
 * from GitLab's keyword reference: docs.gitlab.com/ee/ci/yaml/#ruleschangescompare_to (the paths
 * changed since the merge base of the ref, variables expanded) and #rulesexistsproject (GitLab 17.0:
 * that project's files at `ref`, its default branch without one), and GitLab's error texts
 * ("rules:changes:compare_to is not a valid ref", "rules:exists:ref `x` is not a valid ref in project `y`").
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startFakeGitLab, type FakeGitLab } from '../fakes/gitlab-api.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { commit } from '../helpers/run-output.js';

const TOKEN = 'glpat-rule-lookups';

const jobLine = (out: string, name: string, status: string) =>
  new RegExp(`^\\s+\\S+ \\S+\\s+${name.replace(/[[\]/]/g, '\\$&')}\\s+${status}\\b`, 'm').test(out);

const PIPELINE = `
variables:
  BASE_BRANCH: main

since-main-src:
  script: echo "src changed since main"
  rules:
    - changes:
        paths: [src/**/*]
        compare_to: refs/heads/$BASE_BRANCH

parent-src:
  script: echo "src changed in the last commit"
  rules:
    - changes: [src/**/*]

since-main-lib:
  script: echo "lib changed since main"
  rules:
    - changes:
        paths: [lib/*]
        compare_to: main

has-prod-values:
  script: echo "deploy config has prod values"
  rules:
    - exists:
        paths: ['k8s/*/values.yaml']
        project: platform/deploy-config

tag-has-dockerfile:
  script: echo "v1.0.0 has a Dockerfile"
  rules:
    - exists:
        paths: [Dockerfile]
        project: platform/deploy-config
        ref: v1.0.0

main-has-dockerfile:
  script: echo "main has a Dockerfile"
  rules:
    - exists:
        paths: [Dockerfile]
        project: platform/deploy-config
`;

let gl: FakeGitLab;
before(async () => {
  gl = await startFakeGitLab({
    token: TOKEN,
    projects: {
      'platform/deploy-config': {
        main: { 'k8s/prod/values.yaml': 'replicas: 3\n', 'README.md': '# config\n' },
        'v1.0.0': { Dockerfile: 'FROM scratch\n' },
      },
    },
  });
});
after(() => gl.close());

function featureRepo(root: string, ci: string): string {
  const r = join(root, 'repo');
  mkdirSync(r, { recursive: true });
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: r });
  commit(r, { '.gitlab-ci.yml': ci, 'src/app/main.c': 'int main;\n', 'docs/x.md': '# x\n', 'lib/a.c': '' }, 'initial');
  execFileSync('git', ['checkout', '-q', '-b', 'feature'], { cwd: r });
  commit(r, { 'src/app/main.c': 'int main(void);\n' }, 'change the source');
  commit(r, { 'docs/x.md': '# y\n' }, 'change the docs');
  // main moves on after the branch point: compare_to diffs from the merge base, so lib/ is not "changed".
  execFileSync('git', ['checkout', '-q', 'main'], { cwd: r });
  commit(r, { 'lib/a.c': 'int a;\n' }, 'main moves on');
  execFileSync('git', ['checkout', '-q', 'feature'], { cwd: r });
  return r;
}

test('faultline run (real git, fake GitLab API for exists: project): compare_to diffs since the merge base; exists looks in the other project', async () => {
  const dir = tempDir();
  try {
    const r = featureRepo(dir.path, PIPELINE);
    const res = await runCli(['run'], r, { FAULTLINE_GITLAB_URL: gl.url, FAULTLINE_GITLAB_TOKEN: TOKEN }, 120_000);
    const out = res.stdout + res.stderr;
    assert.equal(res.status, 0, out);
    assert.ok(jobLine(out, 'since-main-src', 'success'), out);
    assert.doesNotMatch(out, /parent-src/); // the last commit changed docs/ only
    assert.doesNotMatch(out, /since-main-lib/); // lib/ changed on main after the branch point, not here
    assert.ok(jobLine(out, 'has-prod-values', 'success'), out);
    assert.ok(jobLine(out, 'tag-has-dockerfile', 'success'), out);
    assert.doesNotMatch(out, /main-has-dockerfile/);
    // The tree was read through the API with the token, v1.0.0 and the default branch.
    const trees = gl.requests.filter((q) => q.includes('/repository/tree'));
    assert.ok(
      trees.some((q) => /ref=v1\.0\.0/.test(q) && q.endsWith(`token=${TOKEN}`)),
      trees.join('\n'),
    );
    assert.ok(
      trees.some((q) => !/ref=/.test(q)),
      trees.join('\n'),
    );
  } finally {
    dir.dispose();
  }
});

test('faultline run: an unknown compare_to ref, an unknown exists: ref, and exists: project without a GitLab instance refuse the pipeline (exit 2), naming the keyword', async () => {
  const dir = tempDir();
  try {
    const ci = [
      'bad-ref:',
      '  script: echo x',
      '  rules:',
      '    - changes: {paths: [src/*], compare_to: no-such-branch}',
      'bad-project-ref:',
      '  script: echo x',
      '  rules:',
      '    - exists: {paths: [a], project: platform/deploy-config, ref: v9}',
      'fine:',
      '  script: echo fine',
      '',
    ].join('\n');
    const r = featureRepo(dir.path, ci);
    const res = await runCli(['run'], r, { FAULTLINE_GITLAB_URL: gl.url, FAULTLINE_GITLAB_TOKEN: TOKEN }, 120_000);
    const out = res.stdout + res.stderr;
    assert.equal(res.status, 2, out);
    assert.match(out, /bad-ref\.rules\[0\]: Failed to parse rule: rules:changes:compare_to is not a valid ref \(`no-such-branch`/);
    assert.match(
      out,
      /bad-project-ref\.rules\[0\]: Failed to parse rule: rules:exists:ref `v9` is not a valid ref in project `platform\/deploy-config`/,
    );
    assert.doesNotMatch(out, /echo fine|\bfine\s+success/);

    const exists = 'a:\n  script: echo a\n  rules:\n    - exists: {paths: [Dockerfile], project: platform/deploy-config}\n';
    commit(r, { '.gitlab-ci.yml': exists }, 'exists only');
    const none = await runCli(['run'], r, { FAULTLINE_GITLAB_URL: '' }, 120_000);
    const nout = none.stdout + none.stderr;
    assert.equal(none.status, 2, nout);
    assert.match(
      nout,
      /a\.rules\[0\]: Failed to parse rule: rules:exists:project `platform\/deploy-config` needs a GitLab instance to look in, and none is configured/,
    );
    // lint checks the rest and warns: it could not look it up here.
    const lint = await runCli(['lint', '.gitlab-ci.yml'], r, { FAULTLINE_GITLAB_URL: '' }, 60_000);
    assert.equal(lint.status, 0, lint.stdout + lint.stderr);
    assert.match(lint.stdout + lint.stderr, /warning: .*rules:exists:project .*lint could not check it here/);
  } finally {
    dir.dispose();
  }
});
