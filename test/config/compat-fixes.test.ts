/**
 * Corpus-driven fixes of issue 10, written from GitLab's keyword reference
 * (https://docs.gitlab.com/ee/ci/yaml/): workflow: auto_cancel, when: delayed on a job that is
 * not in the pipeline, needs: parallel: matrix with lists of values, a map inside only/except's list.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePipeline } from '../../src/config/index.js';

const push = { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_BRANCH: 'main', CI_COMMIT_REF_NAME: 'main', CI_DEFAULT_BRANCH: 'main' };

test('workflow: auto_cancel is read into the model (a matching workflow rule overrides it); bad values are errors', () => {
  const r = compilePipeline(
    'workflow:\n  auto_cancel:\n    on_new_commit: interruptible\n  rules:\n    - if: $CI_COMMIT_BRANCH == "main"\n      auto_cancel:\n        on_job_failure: all\n    - when: always\na: {script: x}\n',
    { predefined: push },
  );
  assert.ok(r.ok, JSON.stringify(r.ok ? null : r.errors));
  assert.deepEqual(r.model.auto_cancel, { on_new_commit: 'interruptible', on_job_failure: 'all' });
  const bad = compilePipeline('workflow:\n  auto_cancel:\n    on_new_commit: sometimes\na: {script: x}\n', { predefined: push });
  assert.equal(bad.ok, false);
  assert.match(bad.errors[0]!.message, /expected conservative, interruptible, none, got/);
});

test('when: delayed: refused for a job in the pipeline, only warned about for one its only: leaves out', () => {
  const job = (only: string) => `a: {script: x}\nlater:\n  when: delayed\n  start_in: 5 minutes\n  only: [${only}]\n  script: x\n`;
  const inPipeline = compilePipeline(job('main'), { predefined: push });
  assert.equal(inPipeline.ok, false);
  assert.match(
    inPipeline.errors.map((e) => e.message).join('\n'),
    /later\.when: not supported by faultline, so the pipeline is refused: when: delayed/,
  );
  const left = compilePipeline(job('tags'), { predefined: push });
  assert.ok(left.ok, JSON.stringify(left.ok ? null : left.errors));
  assert.deepEqual(
    left.model.jobs.map((j) => j.name),
    ['a'],
  );
  assert.ok(left.warnings.some((w) => /when: delayed is not implemented; this job is not in this pipeline/.test(w.message)));
  const stray = compilePipeline('a:\n  start_in: 5 minutes\n  script: x\n', { predefined: push });
  assert.equal(stray.ok, false);
});

test('needs: parallel: matrix: a list of values selects each of them', () => {
  const r = compilePipeline(
    `stages: [build, test]
b:
  stage: build
  parallel:
    matrix:
      - ARCH: [amd64, arm64, s390x]
  script: x
t:
  stage: test
  needs:
    - job: b
      parallel:
        matrix:
          - ARCH: [amd64, arm64]
  script: x
`,
    { predefined: push },
  );
  assert.ok(r.ok, JSON.stringify(r.ok ? null : r.errors));
  assert.deepEqual(r.model.jobs.find((j) => j.name === 't')!.needs, ['b: [amd64]', 'b: [arm64]']);
});

test('except: a map inside the list of refs is read as its keys next to refs: (warned)', () => {
  const yaml = 'a:\n  script: x\n  except:\n    - tags\n    - variables:\n      - $CI_COMMIT_MESSAGE =~ /\\[skip a\\]/\nb: {script: x}\n';
  const names = (msg: string) => {
    const r = compilePipeline(yaml, { predefined: { ...push, CI_COMMIT_MESSAGE: msg } });
    assert.ok(r.ok, JSON.stringify(r.ok ? null : r.errors));
    assert.ok(r.warnings.some((w) => /a map inside the list is read as keys next to refs: \(refs, variables\)/.test(w.message)));
    return r.model.jobs.map((j) => j.name);
  };
  assert.deepEqual(names('fix [skip a]'), ['b']);
  assert.deepEqual(names('fix'), ['a', 'b']);
});
