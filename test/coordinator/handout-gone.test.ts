// The hand-out (JobService.assign) and a request that went away, on SQLite and PostgreSQL: nothing
// is claimed for a request gone before its claim, and candidates read from a pipeline found
// drained are not each tried in a step of their own (the end of a busy pipeline: every request
// held stale candidates, and the last ones held hand-outs for seconds, until their runners had
// gone and the jobs were claimed for nobody).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PendingJob } from '../../src/coordinator/store/jobs.js';
import { forEachCoordinatorEngine, type Harness } from './helpers.js';

const version = async (h: Harness, id: number) =>
  Number((await h.c.store.sql.get<{ version: number }>('SELECT version FROM pipelines WHERE id = ?', [id]))!.version);

async function runnerRow(h: Harness) {
  const r = await h.register({ tags: [], run_untagged: true });
  return (await h.c.store.runners.get(r.id))!;
}

forEachCoordinatorEngine('hand-out to a request that went away', (harness) => {
  test('a request gone before its claim is handed nothing: the job stays pending, no step is taken', async () => {
    const h = await harness();
    try {
      const p = await h.createPipeline('a:\n  script: echo a\n');
      const runner = await runnerRow(h);
      const v0 = await version(h, p.id);
      assert.equal(await h.c.jobs.assign(runner, undefined, () => true), null);
      assert.equal(await version(h, p.id), v0);
      // gone between reading the candidate and the claim under the pipeline's lock (2nd ask)
      let asked = 0;
      assert.equal(await h.c.jobs.assign(runner, undefined, () => ++asked >= 2), null);
      assert.equal(asked, 2, 'asked again in the claim');
      assert.equal((await h.c.store.jobs.latestByName(p.id, 'a'))!.status, 'pending');
      // and a request still there gets it
      const got = await h.c.jobs.assign(runner, undefined, () => false);
      assert.equal(got?.name, 'a');
      assert.equal((await h.c.store.jobs.latestByName(p.id, 'a'))!.status, 'running');
    } finally {
      await h.close();
    }
  });

  // The claim has two paths: the one statement that takes the pipeline's next job, and, in a
  // pipeline with a resource_group anywhere, the loop that checks each job's group first.
  for (const [variant, tail] of [
    ['', ''],
    [
      ' (a pipeline with a resource_group: the claim checks each job)',
      'deploy:\n  stage: deploy\n  resource_group: prod\n  script: echo\n',
    ],
  ] as const) {
    test(`stale candidates of a pipeline found drained cost one step, and the next pipeline's job is handed out${variant}`, async () => {
      const h = await harness();
      try {
        const drained = await h.createPipeline(
          `stages: [test, deploy]\na:\n  script: echo\nb:\n  script: echo\nc:\n  script: echo\nd:\n  script: echo\n${tail}`,
        );
        const other = await h.createPipeline('e:\n  script: echo e\n');
        const runner = await runnerRow(h);
        // The iterator yields drained's four jobs as read before another coordinator took them all.
        const stale: PendingJob[] = [];
        for await (const j of h.c.store.jobs.pendingIter(['[]'])) if (j.pipeline_id === drained.id) stale.push(j);
        assert.equal(stale.length, 4);
        await h.c.store.sql.run(`UPDATE jobs SET status = 'running' WHERE pipeline_id = ? AND status = 'pending'`, [drained.id]);
        const jobs = h.c.store.jobs as unknown as { pendingIter: (...a: unknown[]) => AsyncGenerator<PendingJob> };
        const orig = jobs.pendingIter.bind(jobs);
        jobs.pendingIter = async function* (...a: unknown[]) {
          yield* stale;
          yield* orig(...a);
        };
        const v0 = await version(h, drained.id);
        const got = await h.c.jobs.assign(runner, undefined, () => false);
        assert.equal(got?.pipeline_id, other.id);
        assert.equal(await version(h, drained.id), v0 + 1, 'one step on the drained pipeline, not one per stale candidate');
      } finally {
        await h.close();
      }
    });
  }
});
