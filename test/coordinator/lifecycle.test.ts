import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ORPHAN_AFTER_MS } from '../../src/coordinator/cluster/duties.js';
import { tempDir } from '../helpers/tmp.js';
import { byName, forEachCoordinatorEngine, type Harness } from './helpers.js';

forEachCoordinatorEngine('coordinator lifecycle', (harness, engine) => {
  test('reaper: a running job whose runner stops heartbeating fails with runner_system_failure', async () => {
    const h = await harness({ heartbeatTimeoutMs: 400, longPollMs: 100 });
    try {
      const runner = await h.register();
      const p = await h.createPipeline('a:\n  script: x\n');
      const job = (await h.request(runner.token)).job!;
      await h.update(job, { state: 'running' });
      const transitions: string[] = [];
      h.c.events.on('job_transition', (e) => transitions.push(`${e.name}:${e.from}->${e.to}`));
      const finished = new Promise<unknown>((r) => h.c.events.once('job_finished', r));
      const j = await h.waitFor(async () => (await h.job(job.id)).failure, 5000);
      assert.equal(j.reason, 'runner_system_failure');
      assert.equal(j.stage, 'coordinator');
      assert.match(j.message ?? '', /runner lost: no heartbeat for \d+s/);
      assert.equal(j.class, 'infra');
      await finished;
      const pl = await h.waitFor(async () => {
        const x = await h.pipeline(p.id);
        return x.status === 'failed' && x;
      });
      assert.equal(pl.failure_class, 'infra');
      assert.ok(transitions.includes('a:running->failed'), transitions.join(' '));
      // The runner, if it comes back, is told to drop the job.
      const late = await h.update(job, { state: 'running' });
      assert.equal(late.body.cancel_requested, true);
    } finally {
      await h.close();
    }
  });

  test('heartbeat: a job handed out but never received (the answer lost) is pending again; one the runner had fails', async () => {
    const h = await harness({ heartbeatTimeoutMs: 300, longPollMs: 100 });
    try {
      const lost = await h.register({ name: 'lost' });
      await h.createPipeline('a:\n  script: x\nb:\n  script: y\n');
      // Two hand-outs to one runner: it never hears of the first (its coordinator died before
      // answering), it runs the second (its token used once), then restarts and reports neither.
      const first = (await h.request(lost.token)).job!;
      const second = (await h.request(lost.token)).job!;
      await h.update(second, { state: 'running' });
      const beat = async (running: number[]) =>
        (
          await fetch(`${h.c.url}/api/v1/runners/heartbeat`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'runner-token': lost.token },
            body: JSON.stringify({ running_job_ids: running }),
          })
        ).json();
      // Alive and reporting only the second, past the grace; then restarted, reporting nothing.
      for (const until = Date.now() + 450; Date.now() < until;) {
        await beat([second.id]);
        await new Promise((r) => setTimeout(r, 50));
      }
      await beat([]);
      const again = await h.job(first.id);
      assert.equal(again.status, 'pending', 'the lost hand-out is pending again');
      assert.equal(again.failure, null);
      const had = await h.waitFor(async () => (await h.job(second.id)).failure, 5000);
      assert.equal(had.reason, 'no_updates_running');
      assert.match(had.message ?? '', /no longer reports job/);
      // The old token no longer opens it; another runner gets the same job, same attempt.
      assert.equal((await h.update(first, { state: 'running' })).status, 403);
      const other = await h.register({ name: 'other' });
      const retaken = (await h.request(other.token)).job!;
      assert.equal(retaken.id, first.id);
      assert.equal(retaken.attempt, 1);
      await h.update(retaken, { state: 'success', exit_code: 0 });
      await h.c.idle();
      assert.equal((await h.job(first.id)).status, 'success');
    } finally {
      await h.close();
    }
  });

  test('reaper: a pending job nobody can take fails as stuck_pending_no_matching_runners', async () => {
    const h = await harness({ stuckTimeoutMs: 300 });
    try {
      await h.register({ tags: ['linux'] });
      const p = await h.createPipeline('a:\n  tags: [windows]\n  script: x\n');
      const j = await h.waitFor(async () => (await h.job(byName(p).a!.id)).failure, 5000);
      assert.equal(j.reason, 'stuck_pending_no_matching_runners');
      assert.match(j.message ?? '', /windows/);
      const pl = await h.waitFor(async () => {
        const x = await h.pipeline(p.id);
        return x.status === 'failed' && x;
      });
      assert.equal(byName(pl).a!.status, 'failed');
    } finally {
      await h.close();
    }
  });

  test('restart: state survives close/reopen of the same data dir and the engine is restored', async () => {
    const dir = tempDir('faultline-restart-');
    let h: Harness | undefined;
    try {
      h = await harness({}, dir.path);
      const token = h.c.apiToken;
      const reg = h.c.registrationToken;
      const runner = await h.register();
      const p = await h.createPipeline('stages: [a, b]\nfirst:\n  stage: a\n  script: x\nsecond:\n  stage: b\n  script: y\n');
      const job = (await h.request(runner.token)).job!;
      assert.equal(job.name, 'first');
      await h.update(job, { state: 'running' });
      await h.trace(job, 0, 'partial log\n');
      await h.c.close();

      h = await harness({}, dir.path);
      assert.equal(h.c.apiToken, token, 'the API token is kept');
      assert.equal(h.c.registrationToken, reg, 'the registration token is kept');
      const before = await h.pipeline(p.id);
      assert.equal(before.status, 'running');
      assert.equal(byName(before).first!.status, 'running');
      assert.equal(byName(before).second!.status, 'created');
      // The runner (token kept in the DB) finishes its job; the restored engine moves on.
      assert.equal((await h.trace(job, 12, 'rest\n')).body.offset, 17);
      await h.update(job, { state: 'success', exit_code: 0 });
      const second = await h.waitFor(async () => (await h!.request(runner.token)).job);
      assert.equal(second.name, 'second');
      await h.update(second, { state: 'success', exit_code: 0 });
      const done = await h.waitFor(async () => {
        const x = await h!.pipeline(p.id);
        return x.status === 'success' && x;
      });
      assert.equal(done.jobs!.length, 2);
      assert.equal((await h.api('GET', `/api/v1/jobs/${job.id}/trace`)).body, 'partial log\nrest\n');
    } finally {
      await h?.c.close(); // also when an assertion failed: an open server keeps the file from ever ending
      dir.dispose();
    }
  });

  test('restart: a final update stored but not yet finished is finished at the next start', async () => {
    const dir = tempDir('faultline-restart2-');
    let h: Harness | undefined;
    try {
      h = await harness({}, dir.path);
      const runner = await h.register();
      const p = await h.createPipeline('a:\n  script: x\n');
      const job = (await h.request(runner.token)).job!;
      // Simulate a crash between the stored final update and the finisher. On a shared database
      // (PostgreSQL) a fresh one may be another coordinator's, still being applied: the leader
      // takes over only those older than ORPHAN_AFTER_MS, so this one is stored that long ago.
      const storedAt = engine === 'postgres' ? Date.now() - ORPHAN_AFTER_MS - 1000 : Date.now();
      await h.c.store.jobs.storeFinal(
        job.id,
        { status: 'failed', exit_code: 3, failure: null, after_script_json: null, stopped_by: null },
        storedAt,
      );
      await h.c.close();
      h = await harness({}, dir.path);
      const pl = await h.waitFor(async () => {
        const x = await h!.pipeline(p.id);
        return x.status === 'failed' && x;
      });
      const a = byName(pl).a!;
      assert.equal(a.failure?.reason, 'script_failure');
      assert.equal(a.exit_code, 3);
    } finally {
      await h?.c.close(); // also when an assertion failed: an open server keeps the file from ever ending
      dir.dispose();
    }
  });

  test('autoCancel: a new pipeline on the same ref cancels interruptible jobs of the older one', async () => {
    const h = await harness({ autoCancel: true });
    try {
      const old = await h.createPipeline('a:\n  interruptible: true\n  script: x\n', { ref: 'feature' });
      const other = await h.createPipeline('a:\n  interruptible: true\n  script: x\n', { ref: 'other' });
      const fresh = await h.createPipeline('a:\n  interruptible: true\n  script: x\n', { ref: 'feature' });
      assert.equal((await h.pipeline(old.id)).status, 'canceled');
      assert.equal((await h.pipeline(other.id)).status, 'pending');
      assert.equal((await h.pipeline(fresh.id)).status, 'pending');
    } finally {
      await h.close();
    }
  });

  test('close() ends parked long-polls with 204', async () => {
    const h = await harness({ longPollMs: 20_000 });
    const runner = await h.register();
    const waiting = h.request(runner.token);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await h.close();
    const r = await waiting;
    assert.equal(r.status, 204);
    assert.ok(Date.now() - t0 < 5000);
  });
});
