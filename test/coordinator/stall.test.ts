/**
 * A stalled coordinator does not call a healthy runner lost. The stall is real and
 * deterministic: this test blocks the event loop of the process the coordinator runs
 * in for longer than the heartbeat timeout, so the runner's next heartbeat can only be
 * handled after the reaper's overdue tick.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fallbackClassifier, type FailureClassifier } from '../../src/coordinator/index.js';
import { forEachCoordinatorEngine, harness, type Harness } from './helpers.js';

const TIMEOUT_MS = 2000;

/** Blocks this process's event loop (the coordinator's too) for `ms`. */
function stall(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* busy: no timer, no socket is served */
  }
}

describe('reaper and coordinator stalls', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ heartbeatTimeoutMs: TIMEOUT_MS, longPollMs: 200 });
  });
  after(() => h.close());

  const heartbeat = (token: string, running: number[]) =>
    fetch(`${h.c.url}/api/v1/runners/heartbeat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'runner-token': token },
      body: JSON.stringify({ running_job_ids: running }),
    }).then((r) => r.json());

  test('an event-loop stall longer than the heartbeat timeout: the running job keeps its real result', async () => {
    const runner = await h.register({ name: 'healthy' });
    const p = await h.createPipeline('build:\n  script: echo hi\n');
    const { job } = await h.request(runner.token);
    assert.ok(job);
    await h.update(job, { state: 'running' });
    await heartbeat(runner.token, [job.id]);

    stall(TIMEOUT_MS * 2);
    // The runner's heartbeat and final update were "sent during the stall": they are served now.
    await heartbeat(runner.token, [job.id]);
    const fin = await h.update(job, { state: 'success', exit_code: 0 });
    assert.equal(fin.body.status, 'success', `final update answered ${JSON.stringify(fin.body)}`);
    await h.c.idle();
    const j = await h.job(job.id);
    assert.equal(j.status, 'success', `job failed by the coordinator: ${JSON.stringify(j.failure)}`);
    assert.equal(j.failure, null);
    assert.equal((await h.pipeline(p.id)).status, 'success');
  });

  test('after a stall, a runner that stays silent is still lost (silence counted from the end of the stall)', async () => {
    const runner = await h.register({ name: 'gone' });
    await h.createPipeline('deploy:\n  script: echo hi\n');
    const { job } = await h.request(runner.token);
    assert.ok(job);
    await h.update(job, { state: 'running' });
    stall(TIMEOUT_MS * 2);
    const j = await h.waitFor(async () => {
      const x = await h.job(job.id);
      return x.status === 'failed' && x.failure !== null && x; // classified, not just stored
    }, TIMEOUT_MS * 5);
    assert.equal(j.failure?.reason, 'runner_system_failure');
    assert.match(j.failure?.message ?? '', /runner lost/);
  });
});

forEachCoordinatorEngine('a late final update from the runner that still holds the job token', (harness) => {
  // The runner-lost verdict is held in classification until the test lets it go: the late
  // update lands deterministically before the verdict reaches the engine.
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  const gated: FailureClassifier = {
    classify: async (report, log, o) => {
      if (report.stage === 'coordinator') await held;
      return fallbackClassifier.classify(report, log, o);
    },
  };
  let h: Harness;
  before(async () => {
    h = await harness({ heartbeatTimeoutMs: 300, longPollMs: 200, classifier: gated });
  });
  after(async () => {
    release();
    await h.close();
  });

  test('replaces the runner-lost verdict: the job keeps its real result', async () => {
    const runner = await h.register({ name: 'partitioned' });
    const p = await h.createPipeline('build:\n  script: echo hi\n');
    const { job } = await h.request(runner.token);
    assert.ok(job);
    await h.update(job, { state: 'running' });
    // Silent past the timeout: the reaper calls the runner lost.
    await h.waitFor(async () => (await h.job(job.id)).status === 'failed', 10_000);
    const fin = await h.update(job, { state: 'success', exit_code: 0 });
    assert.equal(fin.body.status, 'success');
    release();
    await h.waitFor(async () => (await h.pipeline(p.id)).status !== 'running', 10_000);
    await h.c.idle();
    const j = await h.job(job.id);
    assert.equal(j.status, 'success', JSON.stringify(j.failure));
    assert.equal(j.exit_code, 0);
    assert.equal((await h.pipeline(p.id)).status, 'success');
  });
});
