/**
 * `trigger:` as GitLab's keyword reference describes it (https://docs.gitlab.com/ee/ci/yaml/#trigger):
 * child pipelines compile to a TriggerSpec; multi-project pipelines are refused naming the job;
 * a trigger job has no script and takes no default: image/before_script.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePipeline } from '../../src/config/index.js';

const compile = (yaml: string) =>
  compilePipeline(yaml, { predefined: { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_BRANCH: 'main', CI_COMMIT_REF_NAME: 'main' } });

test('trigger: include: forms → TriggerSpec (local string, artifact + job, project, template), strategy and forward', () => {
  const r = compile(`
default:
  image: alpine
  before_script: [echo setup]
variables: {G: g}
gen: {stage: build, script: echo}
stages: [build, test]
a:
  trigger: {include: ci/child.yml, strategy: depend}
b:
  variables: {V: v}
  inherit: {variables: false}
  trigger:
    include:
      - artifact: generated.yml
        job: gen
    forward: {yaml_variables: true, pipeline_variables: true}
c:
  trigger:
    include:
      - project: group/templates
        file: /child.yml
        ref: v1
      - template: Jobs/Build.gitlab-ci.yml
`);
  assert.ok(r.ok, JSON.stringify(r.ok ? null : r.errors));
  const job = (n: string) => r.model.jobs.find((j) => j.name === n)!;
  assert.deepEqual(job('a').trigger, {
    include: [{ local: 'ci/child.yml' }],
    strategy: 'depend',
    forward: { yaml_variables: true, pipeline_variables: false },
  });
  assert.deepEqual(job('b').trigger?.include, [{ artifact: 'generated.yml', job: 'gen' }]);
  assert.deepEqual(job('b').trigger?.forward, { yaml_variables: true, pipeline_variables: true });
  assert.deepEqual(job('b').variables, { V: 'v' }); // inherit: variables: false keeps G out of what goes down
  assert.equal(job('a').variables.G, 'g');
  assert.deepEqual(job('c').trigger?.include, [
    { project: 'group/templates', file: '/child.yml', ref: 'v1' },
    { template: 'Jobs/Build.gitlab-ci.yml' },
  ]);
  // A trigger job runs nothing itself: no script, and default: image/before_script do not apply.
  assert.deepEqual(job('a').script, []);
  assert.equal(job('a').image, null);
  assert.deepEqual(job('a').before_script, []);
});

test('trigger: multi-project pipelines are refused naming the job; a trigger job with script: is an error', () => {
  const r = compile(`
deploy:
  trigger: group/deployer
downstream:
  trigger:
    project: group/other
    branch: main
both:
  script: echo
  trigger: {include: child.yml}
bad:
  trigger: {include: child.yml, strategy: always}
`);
  assert.equal(r.ok, false);
  const msgs = r.errors.map((e) => `${e.line}:${e.message}`);
  assert.ok(
    msgs.some((m) => /^3:deploy\.trigger: deploy: multi-project pipelines \(trigger: project\) are not run by faultline/.test(m)),
    msgs.join('\n'),
  );
  assert.ok(
    msgs.some((m) => /^6:downstream\.trigger\.project: downstream: multi-project/.test(m)),
    msgs.join('\n'),
  );
  assert.ok(
    msgs.some((m) => /^9:both\.script: a trigger: job starts a child pipeline and runs nothing itself/.test(m)),
    msgs.join('\n'),
  );
  assert.ok(
    msgs.some((m) => /bad\.trigger\.strategy: expected depend, got/.test(m)),
    msgs.join('\n'),
  );
});
