/** Statuses that do not contradict themselves (issue 12): an early pass is no failure; an allowed failure warns. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { forEachCoordinatorEngine, type Harness } from './helpers.js';

const EARLY = readFileSync(new URL('../../examples/early-exit.gitlab-ci.yml', import.meta.url), 'utf8');

forEachCoordinatorEngine('job statuses agree everywhere', (harness) => {
  let h: Harness;
  before(async () => {
    h = await harness({ longPollMs: 200 });
  });
  after(() => h.close());

  test('a job that passed the pipeline early on purpose is not a failure: no classification, not in failures or metrics', async () => {
    const runner = await h.register({ name: 'early', host: 'h-early' });
    const p = await h.createPipeline(EARLY, { project: 'early-exit' });
    const job = (await h.request(runner.token)).job!;
    assert.equal(job.name, 'decide');
    await h.trace(job, 0, 'no relevant changes: nothing to build\n');
    await h.update(job, {
      state: 'failed',
      exit_code: 3,
      failure: { reason: 'script_failure', stage: 'step_script', message: 'exit code 3', executor: 'shell', image: null, registry: null },
    });
    const done = await h.waitFor(async () => {
      const x = await h.pipeline(p.id);
      return x.status === 'success' && x;
    });
    await h.c.idle();
    const decide = await h.job(job.id);
    assert.equal(decide.status, 'success');
    assert.equal(decide.failure, null, 'no classification of a deliberate early pass');
    assert.equal(done.failure_class, null);
    const failures = await h.api('GET', '/api/v1/failures?since=1h');
    assert.ok(!failures.body.failures.some((f: { id: number }) => f.id === job.id), 'not listed in failures');
    const metrics = await (await fetch(`${h.c.url}/metrics`)).text();
    assert.doesNotMatch(metrics, /^faultline_classifications_total\{/m, 'no verdict counted');
    assert.doesNotMatch(metrics, /^faultline_jobs_finished_total\{status="failed"/m);
    assert.doesNotMatch(metrics, /^cicd_pipeline_run_errors_total\{/m);
  });

  test('an allowed failure reads as GitLab: the job failed (allowed to fail), the pipeline passed with warnings', async () => {
    const runner = await h.register({ name: 'allowed', host: 'h-allowed', tags: ['allowed'] });
    const p = await h.createPipeline('lint:\n  tags: [allowed]\n  allow_failure: true\n  script: [exit 1]\n', { project: 'allowed' });
    const job = (await h.request(runner.token)).job!;
    await h.update(job, {
      state: 'failed',
      exit_code: 1,
      failure: { reason: 'script_failure', stage: 'step_script', message: 'exit code 1', executor: 'shell', image: null, registry: null },
    });
    const done = await h.waitFor(async () => {
      const x = await h.pipeline(p.id);
      return x.status === 'success' && x;
    });
    const j = done.jobs!.find((x) => x.id === job.id)!;
    assert.deepEqual([j.status, j.display_status, j.allow_failure], ['failed', 'failed', true]);
    assert.equal(done.display_status, 'success_with_warnings');
  });
});
