/**
 * Child pipelines (trigger: include:) end to end through `faultline run` in a real git working
 * tree (real coordinator, shell runners, git, artifacts). Cases written from GitLab's
 * downstream pipelines documentation (https://docs.gitlab.com/ee/ci/pipelines/downstream_pipelines.html
 * and https://docs.gitlab.com/ee/ci/yaml/#trigger): a local child with strategy: depend and
 * variables passed down, a dynamic child from a job's artifact, a trigger without depend,
 * inherit: variables: false, forward: pipeline_variables, and the nesting limit.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { lastStatus } from '../helpers/run-output.js';

/** The CLI with both streams as one text (the assertions read the whole output). */
async function cli(args: string[], cwd: string): Promise<{ status: number | null; out: string }> {
  const r = await runCli(args, cwd, {}, 120_000);
  return { status: r.status, out: r.stdout + r.stderr };
}

function repo(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const git = (...a: string[]) => execFileSync('git', a, { cwd: dir, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'initial commit');
}

const PARENT = `
variables:
  GLOBAL: from-parent
stages: [build, triggers]

generate:
  stage: build
  script:
    - |
      cat > generated.yml <<'YML'
      generated-job:
        script: echo "generated says hi"
      YML
  artifacts:
    paths: [generated.yml]

microservice_a:
  stage: triggers
  variables:
    TARGET: service-a
  trigger:
    include: a/.gitlab-ci.yml
    strategy: depend

dynamic:
  stage: triggers
  needs: [generate]
  trigger:
    include:
      - artifact: generated.yml
        job: generate
    strategy: depend
`;

test('faultline run: trigger: include: local (strategy: depend, variables down) and artifact: (a generated child pipeline)', async () => {
  const dir = tempDir();
  try {
    const r = join(dir.path, 'repo');
    repo(r, {
      '.gitlab-ci.yml': PARENT,
      'a/.gitlab-ci.yml': `test-a:\n  script:\n    - echo "child sees TARGET=$TARGET source=$CI_PIPELINE_SOURCE GLOBAL=$GLOBAL"\n    - exit 4\n`,
    });
    const res = await cli(['run'], r);
    const out = res.out;
    assert.equal(res.status, 1, out);
    // The child's job, named under its trigger job; its failure fails the trigger job (depend).
    assert.equal(lastStatus(out, 'microservice_a -> test-a'), 'failed', out);
    assert.equal(lastStatus(out, 'microservice_a'), 'failed', out);
    assert.match(out, /\| child sees TARGET=service-a source=parent_pipeline GLOBAL=from-parent$/m);
    assert.match(out, /\| Child pipeline #\d+ finished: failed$/m);
    // The trigger job's verdict is explained as the child's, never as "decided by the fallback".
    assert.match(
      out,
      /microservice_a \(#\d+\): BUILD — yours to fix · downstream_failed\n\s+child pipeline #\d+ failed: its failed job test-a \(build · [a-z_]+\)/,
      out,
    );
    assert.match(out, /decided by the child pipeline: the trigger job takes the class of its failed jobs \(build\)/);
    assert.doesNotMatch(out, /decided by the fallback for reason downstream_pipeline/);
    // The generated child ran the file the generate job wrote.
    assert.equal(lastStatus(out, 'dynamic -> generated-job'), 'success', out);
    assert.equal(lastStatus(out, 'dynamic'), 'success', out);
    assert.match(out, /pipeline #1 failed — build/);
  } finally {
    dir.dispose();
  }
});

test('faultline run: a trigger without strategy: depend succeeds once its child exists; inherit/forward variables; nesting stops at 2 levels', async () => {
  const dir = tempDir();
  try {
    const r = join(dir.path, 'repo');
    repo(r, {
      '.gitlab-ci.yml': `
variables:
  GLOBAL: from-parent
fire-and-forget:
  inherit:
    variables: false
  variables:
    OWN: mine
  trigger:
    include: child.yml
    forward:
      pipeline_variables: true
level1:
  trigger:
    include: l1.yml
    strategy: depend
`,
      'child.yml': `report:\n  script:\n    - echo "GLOBAL=<$GLOBAL> OWN=<$OWN> FROM_RUN=<$FROM_RUN>"\n    - exit 1\n`,
      'l1.yml': 'level2:\n  trigger:\n    include: l2.yml\n    strategy: depend\n',
      'l2.yml': 'level3:\n  trigger:\n    include: l3.yml\n',
      'l3.yml': 'deep:\n  script: echo "too deep"\n',
    });
    const res = await cli(['run', '--var', 'FROM_RUN=given'], r);
    const out = res.out;
    assert.equal(res.status, 1, out);
    // Without depend the trigger job is green although its child failed.
    assert.equal(lastStatus(out, 'fire-and-forget'), 'success', out);
    assert.equal(lastStatus(out, 'fire-and-forget -> report'), 'failed', out);
    assert.match(out, /\| GLOBAL=<> OWN=<mine> FROM_RUN=<given>$/m);
    // parent → child → grandchild; the grandchild's trigger job may not create a fourth level.
    assert.equal(lastStatus(out, 'level1 -> level2 -> level3'), 'failed', out);
    assert.equal(lastStatus(out, 'level1 -> level2'), 'failed', out);
    assert.equal(lastStatus(out, 'level1'), 'failed', out);
    assert.match(out, /\|\s+maximum depth of child pipelines reached/);
    assert.doesNotMatch(out, /too deep/);
    assert.doesNotMatch(out, /decided by the fallback for reason downstream_pipeline/);
    assert.match(out, /decided by the coordinator: the child pipeline was refused/);
  } finally {
    dir.dispose();
  }
});
