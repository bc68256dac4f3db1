/**
 * `hooks: pre_get_sources_script` end to end through `faultline run` (real git, coordinator,
 * shell runners). Written from GitLab's keyword reference (docs.gitlab.com/ee/ci/yaml/#hooks:
 * "commands to execute on the runner before cloning the Git repository and any submodules",
 * job or `default:`) and gitlab-runner's get_sources script (the hook first, `$ cmd` echoed,
 * skipped with GIT_STRATEGY none; a failure is script_failure in get_sources). The verdict: the
 * stage alone reads as a failed fetch (infra), but the commands are the job's own — BUILD.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { lastStatus } from '../helpers/run-output.js';

const PIPELINE = `
default:
  hooks:
    pre_get_sources_script:
      - echo "default hook" > "$CI_BUILDS_DIR/default-hook-$CI_JOB_ID"

hooked:
  hooks:
    pre_get_sources_script:
      - echo "own hook" > "$CI_BUILDS_DIR/own-hook-$CI_JOB_ID"
      - touch written-before-checkout
  script:
    - test "$(cat "$CI_BUILDS_DIR/own-hook-$CI_JOB_ID")" = "own hook"
    - test ! -e "$CI_BUILDS_DIR/default-hook-$CI_JOB_ID"
    - test ! -e written-before-checkout
    - test -e README.md

uses-default:
  script:
    - test "$(cat "$CI_BUILDS_DIR/default-hook-$CI_JOB_ID")" = "default hook"

no-sources:
  variables:
    GIT_STRATEGY: none
  hooks:
    pre_get_sources_script: exit 1
  script: echo "no sources, no hook"

hook-fails:
  hooks:
    pre_get_sources_script:
      - echo "preparing the mirror"
      - exit 3
  script: echo "THE SCRIPT RAN"
`;

test("faultline run: hooks: pre_get_sources_script runs before the checkout (job and default:), not with GIT_STRATEGY none; its failure is the BUILD's, at get_sources", async () => {
  const dir = tempDir();
  try {
    const r = join(dir.path, 'repo');
    mkdirSync(r, { recursive: true });
    writeFileSync(join(r, '.gitlab-ci.yml'), PIPELINE);
    writeFileSync(join(r, 'README.md'), '# hooks\n');
    const git = (...a: string[]) => execFileSync('git', a, { cwd: r, stdio: 'ignore' });
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'initial commit');

    const res = await runCli(['run'], r, {}, 120_000);
    const out = res.stdout + res.stderr;
    assert.equal(res.status, 1, out);
    assert.equal(lastStatus(out, 'hooked'), 'success', out);
    assert.equal(lastStatus(out, 'uses-default'), 'success', out);
    assert.equal(lastStatus(out, 'no-sources'), 'success', out);
    assert.equal(lastStatus(out, 'hook-fails'), 'failed', out);
    // The hook's commands echoed and run in get_sources; the fetch and the script never ran.
    assert.match(out, /\| Running hooks: pre_get_sources_script$/m);
    assert.match(out, /\| \$ echo "preparing the mirror"$/m);
    assert.match(out, /\| preparing the mirror$/m);
    assert.doesNotMatch(out, /THE SCRIPT RAN/);
    // The verdict: the runner's kind decides, not the get_sources stage fallback (infra · source_fetch_failed).
    assert.match(out, /hook-fails \(#\d+\): BUILD — yours to fix · hook_failed/);
    assert.match(out, /reason script_failure at stage get_sources, exit code 3/);
    assert.match(out, /decided by the runner's report: the job's own hooks: pre_get_sources_script failed/);
    assert.doesNotMatch(out, /source_fetch_failed/);
  } finally {
    dir.dispose();
  }
});
