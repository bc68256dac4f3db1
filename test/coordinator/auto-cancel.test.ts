/**
 * `workflow: auto_cancel:` as GitLab documents it (https://docs.gitlab.com/ee/ci/yaml/#workflowauto_cancelon_new_commit):
 * each older pipeline is canceled as its own configuration says — `interruptible` (its
 * interruptible jobs), `conservative` (the whole pipeline while none of its `interruptible: false`
 * jobs has started), `none` (nothing); `on_job_failure: all` cancels the rest once a job fails.
 * Real coordinator over HTTP (helpers.ts), the coordinator's auto-cancel setting on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { byName, forEachCoordinatorEngine } from './helpers.js';

const poll = async <T>(f: () => Promise<T>, ok: (v: T) => boolean): Promise<T> => {
  for (let i = 0; i < 100; i++) {
    const v = await f();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  return f();
};

forEachCoordinatorEngine('workflow: auto_cancel', (harness) => {
  test('on_new_commit: conservative cancels the whole older pipeline while no non-interruptible job started; none cancels nothing', async () => {
    const h = await harness({ autoCancel: true });
    try {
      const conservative =
        'workflow:\n  auto_cancel:\n    on_new_commit: conservative\na: {script: x}\nb: {interruptible: true, script: x}\n';
      const old = await h.createPipeline(conservative, { ref: 'f1' });
      await h.createPipeline(conservative, { ref: 'f1' });
      const p = byName(await h.pipeline(old.id));
      assert.equal(p.a!.status, 'canceled'); // interruptible-only would leave this one pending
      assert.equal(p.b!.status, 'canceled');

      // conservative, but the non-interruptible job already runs: the older pipeline is left alone.
      const runner = await h.register({ tags: ['f2'], run_untagged: false });
      const started = await h.createPipeline('workflow:\n  auto_cancel:\n    on_new_commit: conservative\na: {tags: [f2], script: x}\n', {
        ref: 'f2',
      });
      const job = (await h.request(runner.token)).job!;
      assert.equal(job.pipeline_id, started.id);
      await h.createPipeline('a: {tags: [f2], script: x}\n', { ref: 'f2' });
      assert.equal(byName(await h.pipeline(started.id)).a!.status, 'running');
      await h.update(job, { state: 'success', exit_code: 0 });

      const none = await h.createPipeline('workflow:\n  auto_cancel:\n    on_new_commit: none\na: {interruptible: true, script: x}\n', {
        ref: 'f3',
      });
      await h.createPipeline('a: {script: x}\n', { ref: 'f3' });
      assert.equal(byName(await h.pipeline(none.id)).a!.status, 'pending');
    } finally {
      await h.close();
    }
  });

  test('on_job_failure: all cancels the running jobs once one fails; a workflow rule can set it', async () => {
    const h = await harness();
    try {
      const runner = await h.register();
      const yaml =
        'workflow:\n  rules:\n    - if: $CI_COMMIT_REF_NAME == "main"\n      auto_cancel:\n        on_job_failure: all\n    - when: always\nfails: {script: x}\nslow: {script: x}\n';
      const p = await h.createPipeline(yaml, { ref: 'main' });
      const a = (await h.request(runner.token)).job!;
      const b = (await h.request(runner.token)).job!;
      const failing = a.name === 'fails' ? a : b;
      await h.update(failing, { state: 'failed', exit_code: 1 });
      const after = await poll(
        () => h.pipeline(p.id),
        (x) => byName(x).slow!.status !== 'running',
      );
      assert.equal(byName(after).slow!.status, 'canceling');
    } finally {
      await h.close();
    }
  });
});
