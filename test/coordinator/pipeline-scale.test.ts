/**
 * A large pipeline must not freeze the coordinator (issue 14, defect 1): while one is being
 * compiled, other requests are answered. Asserted by ordering, never by wall-clock time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aliasYaml, manyJobsYaml } from '../../bench/yaml.js';
import { compilesInline } from '../../src/coordinator/services/compiler.js';
import { forEachCoordinatorEngine, harness, type Harness } from './helpers.js';
import { artifactExtras } from '../../src/coordinator/api/artifacts-api.js';
import type { CoordinatorEventMap } from '../../src/coordinator/events.js';
import { pipelineJson } from '../../src/coordinator/views.js';

const input = (yaml: string) => ({ yaml, ref: 'main', project: 'p', variables: [], repository: null });

test('the coordinator answers /healthz while a 5,000-job pipeline is being compiled', async () => {
  const h = await harness();
  try {
    const order: string[] = [];
    // Started in this order: a compile on the event loop would finish (and the pipeline be
    // stored) before the health check could even connect.
    const created = h.c.pipelines.create(input(manyJobsYaml(5000))).then((r) => (order.push('created'), r));
    const health = fetch(`${h.c.url}/healthz`).then(async (r) => (order.push(`healthz ${r.status}`), r.json()));
    const [r, body] = await Promise.all([created, health]);
    assert.deepEqual(order, ['healthz 200', 'created']);
    assert.equal((body as { ok: boolean }).ok, true);
    assert.ok(r.ok);
    const p = await h.pipeline(r.id);
    assert.equal(p.jobs?.length, 5000);
    assert.equal(p.status, 'pending');
  } finally {
    await h.close();
  }
});

test('errors found by the worker come back with their lines, as inline ones do', async () => {
  const h = await harness();
  try {
    const bad = aliasYaml(400) + 'broken:\n  script: *nope\n';
    assert.equal(compilesInline(bad), false, 'this case must exercise the worker');
    const res = await h.api('POST', '/api/v1/pipelines', { yaml: bad, ref: 'main' });
    assert.equal(res.status, 422);
    const line = aliasYaml(400).split('\n').length + 1; // `script: *nope` (the text ends with a newline)
    const unknown = res.body.details.find((d: { message: string }) => d.message.startsWith('unknown alias *nope'));
    assert.ok(unknown, JSON.stringify(res.body.details));
    assert.deepEqual([unknown.line, unknown.column], [line, 11]);
  } finally {
    await h.close();
  }
});

forEachCoordinatorEngine('large pipelines: batched transitions and paged reads', (harness) => {
  test('canceling a 2,000-job pipeline reads the jobs once, not once per job, and cancels every one', async () => {
    const h = await harness();
    try {
      const r = await h.c.pipelines.create(input(manyJobsYaml(2000)));
      assert.ok(r.ok);
      const jobs = h.c.store.jobs;
      const perJob = jobs.latestRef.bind(jobs);
      let lookups = 0;
      jobs.latestRef = (p, n) => (lookups++, perJob(p, n));
      const res = await h.api('POST', `/api/v1/pipelines/${r.id}/cancel`);
      assert.equal(res.status, 200);
      assert.ok(lookups <= 2, `${lookups} per-job lookups for one cancel`);
      assert.equal(res.body.status, 'canceled');
      assert.equal(res.body.jobs.length, 2000);
      assert.deepEqual(new Set(res.body.jobs.map((j: { status: string }) => j.status)), new Set(['canceled']));
    } finally {
      await h.close();
    }
  });

  /** Event-loop turns between the server receiving a request and its answer's last byte written. */
  function turnsWhileAnswering(h: Harness, method: string, path: string): Promise<number> {
    const turns = countTurns();
    return new Promise((resolve) => {
      const onRequest = (req: { method?: string; url?: string }, res: import('node:http').ServerResponse) => {
        if (req.method !== method || req.url !== path) return;
        h.c.server.off('request', onRequest);
        const start = turns.count();
        res.on('finish', () => resolve(turns.stop() - start));
      };
      h.c.server.prependListener('request', onRequest); // before express rewrites req.url
    });
  }

  test('a 2,000-job pipeline is answered page by page, the event loop turning between pages, with the bytes of one answer', async () => {
    const h = await harness();
    try {
      const r = await h.c.pipelines.create(input(manyJobsYaml(2000)));
      assert.ok(r.ok);
      const path = `/api/v1/pipelines/${r.id}`;
      const turns = turnsWhileAnswering(h, 'GET', path);
      const res = await h.api('GET', path);
      assert.equal(res.status, 200);
      // 2,000 jobs / 500 a page: the loop turns at least between the head and each page.
      assert.ok((await turns) >= 4, `${await turns} event-loop turns while answering 2,000 jobs`);
      const whole = pipelineJson((await h.c.store.pipelines.get(r.id))!, await h.c.store.jobs.byPipeline(r.id));
      for (const j of whole.jobs!) Object.assign(j, await artifactExtras(h.c.store, j.id));
      assert.deepEqual(res.body, JSON.parse(JSON.stringify(whole)));
      assert.equal(res.body.jobs.length, 2000);

      const cancelPath = `/api/v1/pipelines/${r.id}/cancel`;
      const cancelTurns = turnsWhileAnswering(h, 'POST', cancelPath);
      const canceled = await h.api('POST', cancelPath);
      assert.equal(canceled.status, 200);
      assert.ok((await cancelTurns) >= 4, `${await cancelTurns} event-loop turns while answering a 2,000-job cancel`);
      assert.equal(canceled.body.jobs.length, 2000);
      assert.ok(canceled.body.jobs.every((j: { status: string }) => j.status === 'canceled'));
    } finally {
      await h.close();
    }
  });

  test('pipeline_finished carries the pipeline without its job list, and whether a counting job timed out', async () => {
    const h = await harness();
    try {
      const r = await h.c.pipelines.create(input(manyJobsYaml(600)));
      assert.ok(r.ok);
      const finished = new Promise<CoordinatorEventMap['pipeline_finished'][0]>((res) => h.c.events.once('pipeline_finished', res));
      await h.api('POST', `/api/v1/pipelines/${r.id}/cancel`);
      const e = await finished;
      assert.equal(e.pipeline.id, r.id);
      assert.equal(e.pipeline.status, 'canceled');
      assert.equal(e.pipeline.jobs, undefined);
      assert.equal(e.timed_out, false);
    } finally {
      await h.close();
    }
  });
});

/** Counts turns of the event loop (a setImmediate chain) until stopped. */
function countTurns(): { count: () => number; stop: () => number } {
  let turns = 0;
  let ticking = true;
  const tick = () => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  return { count: () => turns, stop: () => ((ticking = false), turns) };
}

/** Turns of the event loop while `work` runs. */
async function turnsDuring(work: () => Promise<unknown>): Promise<number> {
  const turns = countTurns();
  await work();
  return turns.stop();
}

test('storing and transitioning thousands of jobs lets the event loop turn between batches, inside the transaction', async () => {
  const h = await harness();
  try {
    const r = await h.c.pipelines.create(input(manyJobsYaml(3)));
    assert.ok(r.ok);
    const base = (await h.c.store.jobs.latestByName(r.id, 'j1'))!;
    const rows = Array.from({ length: 2000 }, () => ({ ...base, retry_of: null }));
    let ids: number[] = [];
    // 2,000 rows are 4 statements of 500: SQLite runs each synchronously, so without a turn between
    // them the whole transaction would hold the loop (and /healthz) at once.
    const inserting = await turnsDuring(() => h.c.store.tx(async () => (ids = await h.c.store.jobs.insertMany(rows))));
    assert.equal(ids.length, 2000);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      'ids in insert order',
    );
    assert.ok(inserting >= 3, `${inserting} turns while inserting 2,000 jobs`);
    const moving = await turnsDuring(() =>
      h.c.store.jobs.applyTransitions({ ids, to: 'canceled', note: null, graceful: false }, Date.now()),
    );
    assert.ok(moving >= 3, `${moving} turns while transitioning 2,000 jobs`);
  } finally {
    await h.close();
  }
});
