/**
 * Job hand-out is indexed by tags: pending jobs no runner matches are never read when a
 * runner asks for work, however many there are; the oldest matching job still comes first.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { PendingJob } from '../../src/coordinator/store/jobs.js';
import { forEachCoordinatorEngine, type Harness } from './helpers.js';

forEachCoordinatorEngine('job hand-out indexed by tags', (harness) => {
  let h: Harness;
  let read = 0;
  before(async () => {
    h = await harness({ longPollMs: 1 });
    // Count the pending rows the hand-out walks (the work that grew with unmatched jobs).
    const jobs = h.c.store.jobs as unknown as { pendingIter: (...a: unknown[]) => AsyncIterable<PendingJob> };
    const orig = jobs.pendingIter.bind(jobs);
    jobs.pendingIter = async function* (...a: unknown[]) {
      for await (const j of orig(...a)) {
        read++;
        yield j;
      }
    };
  });
  after(() => h.close());

  /** n more pending jobs of `tags`, cloned from a real pipeline's job row (one transaction). */
  async function addPending(pipelineId: number, name: string, tags: string[], n: number): Promise<void> {
    const base = (await h.c.store.jobs.latestByName(pipelineId, name))!;
    const row = { ...base, tags_json: JSON.stringify(tags), status: 'pending', retry_of: null, queued_at: Date.now() };
    await h.c.store.jobs.insertMany(Array.from({ length: n }, () => row));
  }

  test('5,000 pending jobs nobody matches: a matching runner reads only its own job, and untagged runners read none', async () => {
    const gpu = await h.createPipeline('train:\n  tags: [gpu, cuda-12]\n  script: echo train\n');
    await addPending(gpu.id, 'train', ['gpu', 'cuda-12'], 4999);
    await addPending(gpu.id, 'train', ['arm64'], 1000);
    const linux = await h.createPipeline('build:\n  tags: [linux]\n  script: echo build\n');

    const runner = await h.register({ tags: ['linux', 'docker'], run_untagged: false });
    read = 0;
    const got = await h.request(runner.token);
    assert.equal(got.status, 201);
    assert.equal(got.job?.pipeline_id, linux.id);
    assert.ok(read <= 2, `the hand-out read ${read} pending jobs to find one`);

    read = 0;
    assert.equal((await h.request(runner.token)).status, 204);
    assert.equal(read, 0, 'no pending job matches: none is read');

    const untagged = await h.register({ tags: [], run_untagged: true });
    read = 0;
    assert.equal((await h.request(untagged.token)).status, 204);
    assert.equal(read, 0);
  });

  test('across matching tag sets the oldest pending job is handed out first', async () => {
    const a = await h.createPipeline('a:\n  tags: [x]\n  script: echo a\n');
    const b = await h.createPipeline('b:\n  tags: [y, x]\n  script: echo b\n');
    const c = await h.createPipeline('c:\n  script: echo c\n');
    const runner = await h.register({ tags: ['x', 'y'], run_untagged: true });
    const order: number[] = [];
    for (let i = 0; i < 3; i++) order.push((await h.request(runner.token)).job!.pipeline_id);
    assert.deepEqual(order, [a.id, b.id, c.id]);
    const other = await h.register({ tags: ['cuda-12', 'gpu'], run_untagged: false });
    const t = await h.request(other.token);
    assert.deepEqual([t.status, t.job?.name], [201, 'train'], 'tags match as a set, in any order');
  });
});
