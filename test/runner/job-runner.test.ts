import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRunner, type RunnerHandle } from '../../src/runner/index.js';
import { silentLogger } from '../../src/runner/logger.js';
import { tempDir } from '../helpers/tmp.js';
import { startFakeCoordinator, waitFor } from './fake-coordinator.js';

type Fake = Awaited<ReturnType<typeof startFakeCoordinator>>;

describe('job runner against a fake coordinator', () => {
  let fake: Fake;
  let runner: RunnerHandle;
  const tmp = tempDir('faultline-jobrunner-');

  before(async () => {
    fake = await startFakeCoordinator();
    runner = await startRunner({
      url: fake.url,
      registrationToken: 'reg',
      name: 'test-shell',
      executor: 'shell',
      concurrency: 4,
      tags: ['t'],
      buildsDir: join(tmp.path, 'builds'),
      heartbeatMs: 300,
      traceIntervalMs: 50,
      pollIntervalMs: 100,
      logger: silentLogger,
    });
  });
  after(async () => {
    await runner.stop({ timeoutMs: 2000 });
    await fake.close();
    tmp.dispose();
  });

  const marker = (name: string) => join(tmp.path, name);
  const hasLine = (id: number, text: string) => () => fake.trace(id).includes(text);

  test("variables are expanded as gitlab-runner does: against the runner's CI_* too; raw kept; expanded masked values hidden", async () => {
    const job = fake.addJob({
      script: [
        'test "$D" = /b/d',
        'test "$CACHE" = "$CI_PROJECT_DIR/.cache"',
        'test "$R" = \'$BASE\'',
        'test "$CI_JOB_STATUS" = running',
        'echo "s=$S"',
      ],
      variables: [
        { key: 'BASE', value: '/b', masked: false },
        { key: 'D', value: '$BASE/d', masked: false },
        { key: 'CACHE', value: '${CI_PROJECT_DIR}/.cache', masked: false },
        { key: 'R', value: '$BASE', masked: false, raw: true },
        { key: 'S', value: 'pw-$BASE-tail', masked: true },
      ],
    });
    const final = await fake.final(job.id);
    assert.equal(final.state, 'success', fake.trace(job.id));
    assert.match(fake.trace(job.id), /s=\[MASKED\]/);
    assert.ok(!fake.trace(job.id).includes('pw-/b-tail'));
  });

  test('success: running update first, env, masked secrets, final success with stages', async () => {
    const job = fake.addJob({
      before_script: ['echo before'],
      script: [
        'echo "id=$CI_JOB_ID dir=$CI_PROJECT_DIR v=$GREETING"',
        'echo "secret=$SECRET tok=$CI_JOB_TOKEN"',
        'test "$PWD" = "$CI_PROJECT_DIR"',
      ],
      variables: [
        { key: 'GREETING', value: 'hi there', masked: false },
        { key: 'SECRET', value: 'sup3r-s3cret-value', masked: true },
      ],
    });
    const final = await fake.final(job.id);
    assert.equal(final.state, 'success', fake.trace(job.id));
    assert.equal(final.exit_code, 0);
    assert.equal(fake.updates(job.id)[0]!.body.state, 'running');
    const log = fake.trace(job.id);
    assert.match(log, /\$ echo before\nbefore\n/);
    assert.match(log, new RegExp(`id=${job.id} dir=\\S+/builds/runner-7/\\d+/job-${job.id} v=hi there`));
    assert.match(log, /secret=\[MASKED\] tok=\[MASKED\]/);
    assert.ok(!log.includes('sup3r-s3cret-value') && !log.includes(job.token));
    assert.match(log, /Job succeeded/);
    assert.equal(final.trace_bytes, Buffer.byteLength(log));
    assert.deepEqual(
      final.stages!.map((s) => s.stage),
      ['prepare_executor', 'get_sources', 'step_script', 'cleanup'],
    );
    assert.equal(final.failure, null);
  });

  test('script exit 3 → failed, script_failure at step_script, exit code 3; after_script sees failed', async () => {
    const job = fake.addJob({ script: ['echo going', 'exit 3'], after_script: ['echo "status=$CI_JOB_STATUS"'] });
    const final = await fake.final(job.id);
    assert.equal(final.state, 'failed');
    assert.equal(final.exit_code, 3);
    assert.equal(final.failure?.reason, 'script_failure');
    assert.equal(final.failure?.stage, 'step_script');
    assert.equal(final.failure?.executor, 'shell');
    assert.deepEqual(final.after_script, { ran: true, exit_code: 0, timed_out: false });
    assert.match(fake.trace(job.id), /status=failed/);
    assert.match(fake.trace(job.id), /ERROR: Job failed: exit code 3/);
  });

  test('timeout (non-graceful) → job_execution_timeout at step_script, no after_script', async () => {
    const m = marker('timeout-after');
    const job = fake.addJob({ script: ['sleep 30'], timeout_seconds: 1, after_script: [`touch ${m}`], interruptible: true });
    const t0 = Date.now();
    const final = await fake.final(job.id);
    assert.ok(Date.now() - t0 < 8000);
    assert.equal(final.state, 'failed');
    assert.equal(final.failure?.reason, 'job_execution_timeout');
    assert.equal(final.failure?.stage, 'step_script');
    assert.equal(final.stopped_by, 'timeout');
    assert.equal(final.exit_code, null);
    assert.equal(existsSync(m), false);
    assert.deepEqual(final.after_script, { ran: false, exit_code: null, timed_out: false });
  });

  test('graceful cancel: script stopped, after_script runs with CI_JOB_STATUS=canceled and streams after the cancel', async () => {
    const m = marker('graceful-cancel');
    const job = fake.addJob({
      interruptible: 'graceful',
      script: ['echo started', 'sleep 30'],
      after_script: [
        'echo "after status=$CI_JOB_STATUS secret=$SECRET"',
        'sleep 1',
        `echo "$CI_JOB_STATUS $GREETING" > ${m}`,
        'echo after-done',
      ],
      variables: [
        { key: 'GREETING', value: 'hello', masked: false },
        { key: 'SECRET', value: 'graceful-secret-1', masked: true },
      ],
    });
    await waitFor(hasLine(job.id, 'started'), 10_000, 'script start');
    const canceledAt = Date.now();
    fake.cancel(job.id);
    const final = await fake.final(job.id);
    assert.equal(final.state, 'canceled', fake.trace(job.id));
    assert.equal(final.stopped_by, 'cancel');
    assert.equal(final.failure, null);
    assert.deepEqual(final.after_script, { ran: true, exit_code: 0, timed_out: false });
    assert.equal(readFileSync(m, 'utf8'), 'canceled hello\n');
    const log = fake.trace(job.id);
    assert.match(log, /after status=canceled secret=\[MASKED\]/);
    // after_script output reached the coordinator in chunks sent after the cancel, before the final update
    const chunk = fake.chunks(job.id).find((c) => c.body.includes('after status=canceled'));
    assert.ok(chunk && chunk.at > canceledAt);
    const finalAt = fake.updates(job.id).at(-1)!.at;
    assert.ok(chunk.at <= finalAt);
    // heartbeats kept reporting the job while it was canceling
    assert.ok(fake.heartbeats.some((h) => h.at > chunk.at && h.at < finalAt && h.body.includes(job.id)));
  });

  test('non-graceful cancel: stopped at once, no after_script, canceled', async () => {
    const m = marker('hard-cancel');
    const job = fake.addJob({ interruptible: true, script: ['echo started', 'sleep 30'], after_script: [`touch ${m}`] });
    await waitFor(hasLine(job.id, 'started'), 10_000, 'script start');
    fake.cancel(job.id);
    const final = await fake.final(job.id);
    assert.equal(final.state, 'canceled');
    assert.equal(final.stopped_by, 'cancel');
    assert.equal(existsSync(m), false);
    assert.equal(final.after_script?.ran, false);
  });

  test('graceful timeout: after_script with CI_JOB_STATUS=timedout, failed job_execution_timeout', async () => {
    const m = marker('graceful-timeout');
    const job = fake.addJob({
      interruptible: 'graceful',
      timeout_seconds: 1,
      script: ['sleep 30'],
      after_script: [`echo "$CI_JOB_STATUS" > ${m}`],
    });
    const final = await fake.final(job.id);
    assert.equal(final.state, 'failed');
    assert.equal(final.failure?.reason, 'job_execution_timeout');
    assert.equal(final.failure?.stage, 'step_script');
    assert.equal(final.stopped_by, 'timeout');
    assert.deepEqual(final.after_script, { ran: true, exit_code: 0, timed_out: false });
    assert.equal(readFileSync(m, 'utf8'), 'timedout\n');
  });

  test('after_script timeout is reported without changing the result', async () => {
    const job = fake.addJob({ script: ['echo ok'], after_script: ['sleep 30'], after_script_timeout_seconds: 1, cancel_grace_seconds: 1 });
    const final = await fake.final(job.id);
    assert.equal(final.state, 'success');
    assert.equal(final.exit_code, 0);
    assert.equal(final.after_script?.ran, true);
    assert.equal(final.after_script?.timed_out, true);
    assert.match(fake.trace(job.id), /after_script timed out/);
  });

  test('cancel during get_sources: canceled cleanly, cleanup runs, no script', async (t) => {
    // A remote that accepts the connection and never answers keeps git in get_sources.
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const hang = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
    t.after(() => {
      sockets.forEach((s) => s.destroy());
      hang.close();
    });
    const port = (hang.address() as { port: number }).port;
    const m = marker('never-ran');
    const job = fake.addJob({
      interruptible: 'graceful',
      repository: { url: `http://127.0.0.1:${port}/r.git`, sha: null, ref: 'main' },
      git: { strategy: 'clone', depth: 1 },
      script: [`touch ${m}`],
      after_script: [`touch ${m}`],
    });
    await waitFor(hasLine(job.id, 'Cloning repository'), 10_000, 'get_sources start');
    fake.cancel(job.id);
    const final = await fake.final(job.id);
    assert.equal(final.state, 'canceled', fake.trace(job.id));
    assert.equal(existsSync(m), false);
    const stages = final.stages!.map((s) => s.stage);
    assert.deepEqual(stages, ['prepare_executor', 'get_sources', 'cleanup']);
  });

  test('unreachable repository → failed runner_external_dependency_failure at get_sources', async () => {
    const job = fake.addJob({
      repository: { url: 'http://127.0.0.1:9/r.git', sha: null, ref: 'main' },
      git: { strategy: 'clone', depth: 1 },
    });
    const final = await fake.final(job.id);
    assert.equal(final.state, 'failed');
    assert.equal(final.failure?.reason, 'runner_external_dependency_failure');
    assert.equal(final.failure?.stage, 'get_sources');
    assert.match(final.failure?.message ?? '', /127\.0\.0\.1/);
  });

  test('a failure message quoting a masked variable is masked like the trace', async () => {
    const secret = 's3cr3t-token-value';
    const job = fake.addJob({
      variables: [{ key: 'DEPLOY_TOKEN', value: secret, masked: true }],
      repository: { url: `/nonexistent/${secret}/repo`, sha: null, ref: 'main' },
      git: { strategy: 'clone', depth: 1 },
    });
    const final = await fake.final(job.id);
    assert.equal(final.failure?.stage, 'get_sources');
    assert.match(final.failure?.message ?? '', /\[MASKED\]/);
    assert.doesNotMatch(final.failure?.message ?? '', new RegExp(secret));
  });

  test('heartbeats report running jobs', async () => {
    const job = fake.addJob({ script: ['sleep 1'] });
    await fake.final(job.id);
    assert.ok(fake.heartbeats.some((h) => h.body.includes(job.id)));
  });
});
