/** `artifacts:` and `dependencies:` compile into the job model; bad input is an error naming the field. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compilePipeline } from '../../src/config/index.js';

const compile = (yaml: string) => compilePipeline(yaml);
const jobs = (yaml: string) => {
  const r = compile(yaml);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return Object.fromEntries(r.model.jobs.map((j) => [j.name, j]));
};

describe('config: artifacts and dependencies', () => {
  test('artifacts: every key compiles', () => {
    const j = jobs(`
build:
  script: [make]
  artifacts:
    name: "bin-$CI_COMMIT_REF_NAME"
    paths: [dist/, "out/**/*.js"]
    exclude: ["dist/**/*.map"]
    untracked: true
    when: on_failure
    expire_in: 2 hours
    expose_as: binaries
    reports: {junit: [a.xml, b.xml], dotenv: build.env}
`);
    assert.deepEqual(j['build']!.artifacts, {
      name: 'bin-$CI_COMMIT_REF_NAME',
      paths: ['dist/', 'out/**/*.js'],
      exclude: ['dist/**/*.map'],
      untracked: true,
      when: 'on_failure',
      expire_in_seconds: 7200,
      expose_as: 'binaries',
      reports: { junit: ['a.xml', 'b.xml'], dotenv: ['build.env'] },
    });
  });

  test('expire_in: never; default 30 days; no warning for artifacts any more', () => {
    const r = compile('a: {script: [x], artifacts: {paths: [d], expire_in: never}}\nb: {script: [x], artifacts: {paths: [d]}}\n');
    assert.ok(r.ok);
    assert.equal(r.model.jobs[0]!.artifacts!.expire_in_seconds, null);
    assert.equal(r.model.jobs[1]!.artifacts!.expire_in_seconds, 30 * 86400);
    assert.deepEqual(r.warnings, []);
  });

  test('which jobs a job downloads from: dependencies, needs without artifacts: false, earlier stages', () => {
    const j = jobs(`
stages: [build, test, deploy]
a: {stage: build, script: [x]}
b: {stage: build, script: [x]}
t: {stage: test, script: [x]}
only-b: {stage: deploy, script: [x], dependencies: [b]}
none: {stage: deploy, script: [x], dependencies: []}
dag: {stage: deploy, script: [x], needs: [{job: a, artifacts: false}, b]}
all: {stage: deploy, script: [x]}
`);
    assert.deepEqual(j['only-b']!.artifact_dependencies, ['b']);
    assert.deepEqual(j['none']!.artifact_dependencies, []);
    assert.deepEqual(j['dag']!.artifact_dependencies, ['b']);
    assert.deepEqual(j['all']!.artifact_dependencies, ['a', 'b', 't']);
    assert.deepEqual(j['t']!.artifact_dependencies, ['a', 'b']);
  });

  test('errors name the field: unknown key, unknown report kind, bad when, bad dependency', () => {
    const r = compile(`
stages: [build, test]
a: {stage: test, script: [x], artifacts: {path: [d]}}
b: {stage: test, script: [x], artifacts: {reports: {junitt: r.xml}}}
c: {stage: test, script: [x], artifacts: {paths: [d], when: sometimes}}
d: {stage: build, script: [x], dependencies: [a]}
e: {stage: test, script: [x], needs: [], dependencies: [d]}
`);
    assert.equal(r.ok, false);
    const msgs = r.errors.map((e) => `${e.path}@${e.line}: ${e.message}`).join('\n');
    assert.match(msgs, /a\.artifacts\.path@3: .*unknown key 'path'/);
    assert.match(msgs, /b\.artifacts\.reports\.junitt@4: .*did you mean 'junit'/);
    assert.match(msgs, /c\.artifacts\.when@5: .*on_success, on_failure, always/);
    assert.match(msgs, /d\.dependencies\[0\]@6: .*not in an earlier stage/);
    assert.match(msgs, /e\.dependencies\[0\]@7: .*must also be listed in needs/);
  });

  test('report kinds faultline keeps but does not read: a warning saying so', () => {
    const r = compile('a: {script: [x], artifacts: {reports: {sast: gl-sast.json}}}\n');
    assert.ok(r.ok);
    assert.match(r.warnings[0]!.message, /keeps sast reports as files but does not read them/);
  });
});
