// Group commit of engine steps (services/step-queue.ts): events for a pipeline that has a step in
// flight go in together as one step, a refused one never costs the others, and an event applied
// inside a transaction joins that transaction instead of queueing — on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineError } from '../../src/pipeline/errors.js';
import type { PipelineEvent } from '../../src/pipeline/events.js';
import { StepQueue } from '../../src/coordinator/services/step-queue.js';
import { forEachCoordinatorEngine, type Harness } from './helpers.js';

const YAML = 'a:\n  script: echo a\nb:\n  script: echo b\nc:\n  script: echo c\n';

async function version(h: Harness, id: number): Promise<number> {
  return Number((await h.c.store.sql.get<{ version: number }>('SELECT version FROM pipelines WHERE id = ?', [id]))!.version);
}

const statuses = async (h: Harness, id: number) =>
  Object.fromEntries((await h.c.store.jobs.latestPerName(id)).map((j) => [j.name, j.status]));

forEachCoordinatorEngine('engine steps in batches', (harness) => {
  test('events arriving while a step is in flight go in together: one version bump, all applied', async () => {
    const h = await harness();
    try {
      const p = await h.createPipeline(YAML);
      const v0 = await version(h, p.id);
      const results = await Promise.all(['a', 'b', 'c'].map((name) => h.c.pipelines.apply(p.id, { type: 'job_cancel', name })));
      assert.ok(results.every((r) => r !== null && r.transitions.length > 0));
      assert.deepEqual(await statuses(h, p.id), { a: 'canceled', b: 'canceled', c: 'canceled' });
      // a alone, then b and c as one step (three steps one by one would have bumped it thrice)
      assert.equal(await version(h, p.id), v0 + 2);
    } finally {
      await h.close();
    }
  });

  test('an event the engine refuses fails alone: the rest of its batch is applied', async () => {
    const h = await harness();
    try {
      const p = await h.createPipeline(YAML);
      const events: PipelineEvent[] = [
        { type: 'job_cancel', name: 'a' },
        { type: 'job_cancel', name: 'b' },
        { type: 'job_started', name: 'no-such-job' },
        { type: 'job_cancel', name: 'c' },
      ];
      const settled = await Promise.allSettled(events.map((e) => h.c.pipelines.apply(p.id, e)));
      assert.deepEqual(
        settled.map((s) => s.status),
        ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
      );
      assert.ok((settled[2] as PromiseRejectedResult).reason instanceof EngineError);
      assert.deepEqual(await statuses(h, p.id), { a: 'canceled', b: 'canceled', c: 'canceled' });
    } finally {
      await h.close();
    }
  });

  test('an event applied inside a transaction joins it, even while a step of its pipeline is queued', async () => {
    const h = await harness();
    try {
      const p = await h.createPipeline(YAML);
      const inFlight = h.c.pipelines.apply(p.id, { type: 'job_cancel', name: 'b' });
      await assert.rejects(
        h.c.store.tx(async () => {
          await h.c.pipelines.apply(p.id, { type: 'job_cancel', name: 'a' });
          throw new Error('roll back');
        }),
        /roll back/,
      );
      await inFlight;
      // Queued behind the in-flight step it would wait for a transaction that waits for it (SQLite:
      // the one connection; PostgreSQL: the row lock), or commit on its own outside it.
      assert.deepEqual(await statuses(h, p.id), { a: 'pending', b: 'canceled', c: 'pending' });
    } finally {
      await h.close();
    }
  });
});

test('StepQueue: one batch per key at a time, answers in order, a failed batch rejects only its own', async () => {
  const batches: string[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const q = new StepQueue<string, string>(async (key, items) => {
    batches.push(items);
    if (batches.length === 1) await gate;
    if (items.includes('boom')) throw new Error('boom');
    return items.map((value) => ({ status: 'fulfilled', value: `${key}:${value}` }));
  }, 2);
  const first = q.submit(1, 'x');
  const rest = ['y', 'z', 'boom'].map((i) => q.submit(1, i));
  const other = q.submit(2, 'w'); // another pipeline is not held up by the first
  assert.equal(await other, '2:w');
  assert.equal(q.queued, 3);
  release();
  assert.equal(await first, '1:x');
  const settled = await Promise.allSettled(rest);
  assert.deepEqual(batches, [['x'], ['w'], ['y', 'z'], ['boom']]);
  assert.deepEqual(
    settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message)),
    ['1:y', '1:z', 'boom'],
  );
  assert.equal(q.queued, 0);
});
