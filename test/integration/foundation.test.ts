/**
 * The foundation, end to end: a real coordinator process and real runner processes over
 * HTTP (started through the `faultline` CLI), a real SQLite file, real shell jobs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { jobsByName, sharedSystem } from '../helpers/system.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const example = (name: string) => readFileSync(join(ROOT, 'examples', name), 'utf8');

describe('foundation: coordinator + shell runners (real processes)', () => {
  const { api } = sharedSystem();

  test('stage order and needs: examples/passing runs to success in order', async () => {
    const p = await api.waitPipeline((await api.createPipeline(example('passing.gitlab-ci.yml'))).id);
    assert.equal(p.status, 'success');
    const j = jobsByName(p);
    const t = (name: string, k: 'started_at' | 'finished_at') => Date.parse(j[name]![k]!);
    assert.ok(t('unit-tests', 'started_at') >= t('build', 'finished_at'), 'needs: unit-tests after build');
    assert.ok(t('deploy', 'started_at') >= t('unit-tests', 'finished_at'), 'stage order: deploy after test stage');
    assert.ok(t('deploy', 'started_at') >= t('lint', 'finished_at'));
    assert.match(await api.trace(j['build']!.id), /hello from faultline/);
    assert.match(await api.trace(j['build']!.id), /after_script for build \(success\)/);
  });

  test('a failing script: exit code exact, build failure, allowed failure only warns', async () => {
    const p = await api.waitPipeline((await api.createPipeline(example('failing.gitlab-ci.yml'))).id);
    assert.equal(p.status, 'failed');
    const j = jobsByName(p);
    assert.equal(j['tests']!.status, 'failed');
    assert.equal(j['tests']!.exit_code, 1);
    assert.equal(j['tests']!.failure?.reason, 'script_failure');
    assert.equal(j['tests']!.failure?.class, 'build');
    assert.equal(j['flaky-lint']!.display_status, 'failed', 'failed, allowed to fail (as GitLab)');
    assert.equal(j['flaky-lint']!.allow_failure, true);
    assert.equal(j['flaky-lint']!.exit_code, 2);
  });

  test('exit codes are exact and allow_failure: exit_codes only allows the listed ones', async () => {
    const p = await api.waitPipeline(
      (
        await api.createPipeline(`
three:
  script: exit 3
  allow_failure: {exit_codes: [3]}
four:
  script: exit 4
  allow_failure: {exit_codes: [3]}
`)
      ).id,
    );
    const j = jobsByName(p);
    assert.equal(j['three']!.exit_code, 3);
    assert.equal(j['three']!.display_status, 'failed', 'failed, allowed to fail (as GitLab)');
    assert.equal(j['four']!.exit_code, 4);
    assert.equal(j['four']!.display_status, 'failed');
    assert.equal(p.status, 'failed');
  });

  test('when: on_failure and always', async () => {
    const p = await api.waitPipeline(
      (
        await api.createPipeline(`
stages: [build, notify]
build:
  stage: build
  script: exit 1
on-failure:
  stage: notify
  when: on_failure
  script: echo failure-handler
on-success:
  stage: notify
  script: echo never
always:
  stage: notify
  when: always
  script: echo always
`)
      ).id,
    );
    const j = jobsByName(p);
    assert.equal(j['on-failure']!.status, 'success');
    assert.equal(j['always']!.status, 'success');
    assert.equal(j['on-success']!.status, 'skipped');
    assert.equal(p.status, 'failed');
  });

  test('manual: required blocks until played; optional skips its dependents; ignored is as if absent', async () => {
    const created = await api.createPipeline(example('manual-gates.gitlab-ci.yml'));
    let p = await api.waitPipeline(created.id, (x) => x.status === 'blocked');
    let j = jobsByName(p);
    assert.equal(j['approve-release']!.status, 'manual');
    assert.equal(j['deploy']!.status, 'created', 'deploy waits behind the required gate');
    assert.equal(j['build']!.status, 'success');
    await api.play(j['approve-release']!.id);
    p = await api.waitPipeline(created.id);
    j = jobsByName(p);
    assert.equal(p.status, 'success');
    assert.equal(j['deploy']!.status, 'success');
    assert.equal(j['report-after-extra']!.status, 'skipped', 'optional manual not played → dependents skipped');
    assert.equal(j['nice-to-have']!.status, 'manual', 'ignored manual job stays playable');
  });

  test('manual: optional under needs — played, its dependent runs', async () => {
    const created = await api.createPipeline(`
gate:
  when: manual
  manual: optional
  needs: []
  script: echo gate
after-gate:
  needs: [gate]
  script: echo after
independent:
  needs: []
  script: echo independent
`);
    let p = await api.waitPipeline(created.id, (x) => jobsByName(x)['independent']?.status === 'success');
    const gate = jobsByName(p)['gate']!;
    assert.equal(gate.status, 'manual');
    await api.play(gate.id);
    p = await api.waitPipeline(created.id, (x) => jobsByName(x)['after-gate']?.status === 'success');
    assert.equal(p.status, 'success');
  });

  test('on_status: pass_pipeline ends the pipeline early as success with halted_by', async () => {
    const p = await api.waitPipeline((await api.createPipeline(example('early-exit.gitlab-ci.yml'))).id);
    assert.equal(p.status, 'success');
    assert.equal(p.halted_by?.name, 'decide');
    const j = jobsByName(p);
    assert.equal(j['decide']!.exit_code, 3);
    const trace = await api.trace(j['decide']!.id);
    assert.doesNotMatch(trace, /ERROR: Job failed/, 'a deliberate early pass is not reported as a failure');
    assert.match(trace, /Job ended the pipeline early on purpose \(exit code 3: on_status pass_pipeline\)/);
    assert.equal(j['build']!.status, 'skipped');
    assert.match(j['build']!.note ?? '', /pipeline passed early by job decide/);
    assert.equal(j['test']!.status, 'skipped');
  });

  test('on_status: warn, fail_pipeline and success → pass_pipeline', async () => {
    const p = await api.waitPipeline(
      (
        await api.createPipeline(`
stages: [a, b]
warns:
  stage: a
  script: exit 2
  on_status: {exit_codes: {2: warn}}
later:
  stage: b
  script: echo ran
`)
      ).id,
    );
    assert.equal(p.status, 'success');
    assert.equal(jobsByName(p)['warns']!.display_status, 'failed', 'failed, allowed to fail (as GitLab)');
    assert.equal(p.display_status, 'success_with_warnings');
    assert.equal(jobsByName(p)['later']!.status, 'success');
    const q = await api.waitPipeline(
      (
        await api.createPipeline(`
stages: [a, b]
ok-then-stop:
  stage: a
  script: exit 0
  on_status: {success: pass_pipeline}
never:
  stage: b
  script: echo no
`)
      ).id,
    );
    assert.equal(q.status, 'success');
    assert.equal(q.halted_by?.name, 'ok-then-stop');
    assert.equal(jobsByName(q)['never']!.status, 'skipped');
    const r = await api.waitPipeline(
      (await api.createPipeline(`fails:\n  script: exit 5\n  on_status: {failure: fail_pipeline, exit_codes: {2: warn}}\n`)).id,
    );
    assert.equal(r.status, 'failed');
  });

  test('cancel: created and pending jobs go straight to canceled, running ones via canceling', async () => {
    const created = await api.createPipeline(`
stages: [one, two]
long:
  stage: one
  script: sleep 30
next:
  stage: two
  script: echo never
`);
    let p = await api.waitPipeline(created.id, (x) => jobsByName(x)['long']?.status === 'running');
    await api.cancelPipeline(created.id);
    p = await api.waitPipeline(created.id, (x) => x.status === 'canceled', 15_000);
    const j = jobsByName(p);
    assert.equal(j['long']!.status, 'canceled');
    assert.equal(j['next']!.status, 'canceled');
  });

  test('job timeout kills the job: job_execution_timeout', async () => {
    const p = await api.waitPipeline((await api.createPipeline(`slow:\n  timeout: 2s\n  script: sleep 30\n`)).id, undefined, 20_000);
    const j = jobsByName(p)['slow']!;
    assert.equal(j.status, 'failed');
    assert.equal(j.failure?.reason, 'job_execution_timeout');
  });

  test('retry: automatic by reason, and a person retrying makes a linked attempt', async () => {
    const p = await api.waitPipeline(
      (await api.createPipeline(`flaky:\n  retry: {max: 2, when: [script_failure]}\n  script: exit 1\n`)).id,
    );
    const attempts = (p.jobs ?? []).filter((x) => x.name === 'flaky').sort((a, b) => a.attempt - b.attempt);
    assert.deepEqual(
      attempts.map((a) => a.attempt),
      [1, 2, 3],
    );
    assert.equal(attempts[1]!.retry_of, attempts[0]!.id);
    const noRetry = await api.waitPipeline(
      (await api.createPipeline(`other:\n  retry: {max: 2, when: [runner_system_failure]}\n  script: exit 1\n`)).id,
    );
    assert.equal((noRetry.jobs ?? []).filter((x) => x.name === 'other').length, 1, 'retry when does not match script_failure');
    const again = await api.retry(attempts[2]!.id);
    assert.equal(again.attempt, 4);
    assert.equal(again.retry_of, attempts[2]!.id);
    const final = await api.waitPipeline(p.id, (x) => jobsByName(x)['flaky']!.attempt === 4 && jobsByName(x)['flaky']!.status === 'failed');
    assert.equal(final.status, 'failed');
  });

  test('bad YAML: 422 with every problem and its line/column; nothing stored', async () => {
    const before = await api.call<{ total: number }>('GET', '/api/v1/pipelines');
    const r = await api.call<{ error: string; details: Array<{ path: string; line: number; column: number; message: string }> }>(
      'POST',
      '/api/v1/pipelines',
      { yaml: 'build:\n  scirpt: echo hi\ntest:\n  script: echo\n  needs: [nope]\n', ref: 'main' },
    );
    assert.equal(r.status, 422);
    assert.ok(r.body.details.length >= 2);
    const typo = r.body.details.find((d) => /scirpt/.test(d.path + d.message))!;
    assert.equal(typo.line, 2);
    assert.match(typo.message, /did you mean.*script/i);
    const needs = r.body.details.find((d) => /nope/.test(d.message))!;
    assert.equal(needs.line, 5);
    const afterList = await api.call<{ total: number }>('GET', '/api/v1/pipelines');
    assert.equal(afterList.body.total, before.body.total);
  });
});
