/**
 * Graceful cancellation and timeouts with real coordinator and runner processes:
 * after_script runs on cancel and on timeout under `interruptible: graceful`.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { jobsByName, sharedSystem, startCoordinator, startRunnerProcess, userApi } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';

describe('graceful cancellation (real processes)', () => {
  const { api, dir } = sharedSystem({ heartbeatTimeoutSec: 3 });
  const marker = (name: string) => join(dir, `${name}.marker`);

  const gracefulJob = (name: string, extra = '') => `
${name}:
  interruptible: graceful
  ${extra}
  script:
    - echo started
    - sleep 60
  after_script:
    - echo "teardown with status $CI_JOB_STATUS and secret-free var $MY_VAR"
    - sleep 1
    - echo "teardown line 2"
    - echo "$CI_JOB_STATUS" > ${marker(name)}
`;

  test('cancel: after_script runs with CI_JOB_STATUS=canceled, its trace arrives while canceling', async () => {
    const p = await api.createPipeline(`variables: {MY_VAR: hello}\n${gracefulJob('g1')}`);
    let job = jobsByName(await api.waitPipeline(p.id, (x) => jobsByName(x)['g1']?.status === 'running'))['g1']!;
    await new Promise((r) => setTimeout(r, 500));
    await api.cancelJob(job.id);
    const seen = await api.waitPipeline(p.id, (x) => jobsByName(x)['g1']?.status === 'canceling', 5000);
    assert.equal(seen.status, 'canceling');
    // The teardown streams while the job is still canceling.
    let sawTeardownWhileCanceling = false;
    for (let i = 0; i < 60 && !sawTeardownWhileCanceling; i++) {
      const [trace, j] = [await api.trace(job.id), await api.job(job.id)];
      if (j.status === 'canceling' && /teardown with status canceled/.test(trace)) sawTeardownWhileCanceling = true;
      if (j.status !== 'canceling') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(sawTeardownWhileCanceling, 'after_script output visible while canceling');
    const done = await api.waitPipeline(p.id, (x) => x.status === 'canceled', 20_000);
    job = jobsByName(done)['g1']!;
    assert.equal(job.status, 'canceled');
    assert.equal(readFileSync(marker('g1'), 'utf8').trim(), 'canceled');
    assert.match(await api.trace(job.id), /teardown with status canceled and secret-free var hello/);
    assert.equal(job.after_script?.ran, true);
    assert.equal(job.after_script?.exit_code, 0);
  });

  test('interruptible: true cancels at once without after_script', async () => {
    const p = await api.createPipeline(`
hard:
  interruptible: true
  script: sleep 60
  after_script: [echo x > ${marker('hard')}]
`);
    const job = jobsByName(await api.waitPipeline(p.id, (x) => jobsByName(x)['hard']?.status === 'running'))['hard']!;
    await api.cancelJob(job.id);
    await api.waitPipeline(p.id, (x) => x.status === 'canceled', 15_000);
    assert.equal(existsSync(marker('hard')), false);
  });

  test('timeout under graceful: after_script with CI_JOB_STATUS=timedout, job failed job_execution_timeout', async () => {
    const p = await api.createPipeline(gracefulJob('g2', 'timeout: 2s'));
    const done = await api.waitPipeline(p.id, undefined, 30_000);
    const job = jobsByName(done)['g2']!;
    assert.equal(job.status, 'failed');
    assert.equal(job.failure?.reason, 'job_execution_timeout');
    assert.equal(readFileSync(marker('g2'), 'utf8').trim(), 'timedout');
  });

  test('after_script timeout is reported without changing the final result', async () => {
    const p = await api.createPipeline(`
slow-teardown:
  interruptible: graceful
  after_script_timeout: 1s
  script: sleep 60
  after_script: [sleep 30]
`);
    const job0 = jobsByName(await api.waitPipeline(p.id, (x) => jobsByName(x)['slow-teardown']?.status === 'running'))['slow-teardown']!;
    await api.cancelJob(job0.id);
    const done = await api.waitPipeline(p.id, (x) => x.status === 'canceled', 20_000);
    const job = jobsByName(done)['slow-teardown']!;
    assert.equal(job.status, 'canceled');
    assert.equal(job.after_script?.timed_out, true);
  });

  test('created, pending and manual jobs go straight to canceled; pipeline cancel waits for teardowns', async () => {
    const p = await api.createPipeline(`
stages: [a, b]
${gracefulJob('g3', 'stage: a')}
gate:
  stage: a
  when: manual
  script: echo
later:
  stage: b
  script: echo
`);
    await api.waitPipeline(p.id, (x) => jobsByName(x)['g3']?.status === 'running');
    await new Promise((r) => setTimeout(r, 300));
    const canceling = await api.cancelPipeline(p.id);
    assert.equal(canceling.status, 'canceling');
    const mid = jobsByName(await api.pipeline(p.id));
    assert.equal(mid['gate']!.status, 'canceled');
    assert.equal(mid['later']!.status, 'canceled');
    const done = await api.waitPipeline(p.id, (x) => x.status === 'canceled', 20_000);
    assert.equal(jobsByName(done)['g3']!.status, 'canceled');
    assert.equal(readFileSync(marker('g3'), 'utf8').trim(), 'canceled');
  });

  test('early exit by pass_pipeline cancels running graceful jobs with their after_script', async () => {
    const p = await api.createPipeline(`
${gracefulJob('g4', 'needs: []')}
decide:
  needs: []
  script: sleep 1; exit 3
  on_status: {exit_codes: {3: pass_pipeline}}
`);
    const done = await api.waitPipeline(p.id, (x) => ['success', 'failed', 'canceled'].includes(x.status), 30_000);
    assert.equal(done.status, 'success');
    assert.equal(done.halted_by?.name, 'decide');
    assert.equal(jobsByName(done)['g4']!.status, 'canceled');
    assert.equal(readFileSync(marker('g4'), 'utf8').trim(), 'canceled');
  });
});

test('a runner killed during teardown → runner_system_failure', async () => {
  const dir = tempDir();
  const coord = await startCoordinator({ dataDir: join(dir.path, 'data'), heartbeatTimeoutSec: 2 });
  const runner = await startRunnerProcess({ url: coord.url, registrationToken: coord.registrationToken });
  try {
    const api = userApi(coord.url, coord.apiToken);
    const p = await api.createPipeline(`
t:
  interruptible: graceful
  script: sleep 60
  after_script: [echo tearing down, sleep 60]
`);
    const job = jobsByName(await api.waitPipeline(p.id, (x) => jobsByName(x)['t']?.status === 'running'))['t']!;
    await api.cancelJob(job.id);
    for (let i = 0; i < 100 && !/tearing down/.test(await api.trace(job.id)); i++) await new Promise((r) => setTimeout(r, 100));
    await runner.kill('SIGKILL');
    const done = await api.waitPipeline(p.id, undefined, 20_000);
    const j = jobsByName(done)['t']!;
    assert.equal(j.status, 'failed');
    assert.equal(j.failure?.reason, 'runner_system_failure');
    assert.match(await api.trace(j.id), /tearing down/, 'the teardown trace is kept');
  } finally {
    await runner.kill();
    await coord.kill();
    dir.dispose();
  }
});

test('the coordinator restarted during a teardown: the teardown trace is kept and the job ends canceled', async () => {
  const dir = tempDir();
  const data = join(dir.path, 'data');
  let coord = await startCoordinator({ dataDir: data, heartbeatTimeoutSec: 3 });
  const runner = await startRunnerProcess({ url: coord.url, registrationToken: coord.registrationToken });
  try {
    let api = userApi(coord.url, coord.apiToken);
    const p = await api.createPipeline(`
t:
  interruptible: graceful
  script: sleep 60
  after_script:
    - echo "teardown begins"
    - sleep 4
    - echo "teardown ends"
`);
    const job = jobsByName(await api.waitPipeline(p.id, (x) => jobsByName(x)['t']?.status === 'running'))['t']!;
    await api.cancelJob(job.id);
    for (let i = 0; i < 100 && !/teardown begins/.test(await api.trace(job.id)); i++) await new Promise((r) => setTimeout(r, 100));
    await coord.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 2000));
    coord = await startCoordinator({ dataDir: data, port: coord.port, heartbeatTimeoutSec: 3 });
    api = userApi(coord.url, coord.apiToken);
    const done = await api.waitPipeline(p.id, (x) => x.status === 'canceled', 30_000);
    const j = jobsByName(done)['t']!;
    assert.equal(j.status, 'canceled');
    assert.equal(j.after_script?.ran, true);
    const trace = await api.trace(j.id);
    assert.match(trace, /teardown begins[\s\S]*teardown ends/, 'the whole teardown log survived the restart');
  } finally {
    await runner.kill();
    await coord.kill();
    dir.dispose();
  }
});

test('auto-cancel: a new pipeline on the same ref cancels the older one gracefully; other refs are left alone', async () => {
  const dir = tempDir();
  const coord = await startCoordinator({ dataDir: join(dir.path, 'data'), extraArgs: ['--auto-cancel'] });
  const runner = await startRunnerProcess({ url: coord.url, registrationToken: coord.registrationToken, concurrency: 4 });
  const marker = join(dir.path, 'old.marker');
  try {
    const api = userApi(coord.url, coord.apiToken);
    const yaml = (name: string, interruptible: string) => `
${name}:
  interruptible: ${interruptible}
  script: sleep 60
  after_script: ['echo "$CI_JOB_STATUS" > ${join(dir.path, `${name}.marker`)}']
`;
    const old = await api.createPipeline(yaml('old', 'graceful'), { ref: 'main' });
    const other = await api.createPipeline(yaml('other', 'graceful'), { ref: 'feature' });
    await api.waitPipeline(old.id, (x) => jobsByName(x)['old']?.status === 'running');
    await api.waitPipeline(other.id, (x) => jobsByName(x)['other']?.status === 'running');
    const newer = await api.createPipeline('quick:\n  script: echo newer\n', { ref: 'main' });
    const canceled = await api.waitPipeline(old.id, (x) => x.status === 'canceled', 20_000);
    assert.equal(jobsByName(canceled)['old']!.status, 'canceled');
    assert.equal(readFileSync(marker, 'utf8').trim(), 'canceled', 'the graceful job ran its after_script');
    assert.equal((await api.waitPipeline(newer.id)).status, 'success');
    assert.equal(jobsByName(await api.pipeline(other.id))['other']!.status, 'running', 'another ref is not touched');
    await api.cancelPipeline(other.id);
    await api.waitPipeline(other.id, (x) => x.status === 'canceled', 20_000);
  } finally {
    await runner.kill();
    await coord.kill();
    dir.dispose();
  }
});
