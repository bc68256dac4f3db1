// The jobs and pipelines tables (JobStore, PipelineStore), each test run on SQLite and on a real
// PostgreSQL server (test/helpers/store-engines.ts): same calls, same answers, same JS types; the
// races between two coordinators' transactions run on PostgreSQL, where they really happen.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Sql } from '../../../src/coordinator/store/engine.js';
import { JobStore, type FinalReport } from '../../../src/coordinator/store/jobs.js';
import { PipelineStore, type NewPipeline } from '../../../src/coordinator/store/pipelines.js';
import { forEachEngine } from '../../helpers/store-engines.js';
import { addJob, addPipeline, addRunner, newJob } from '../../helpers/store-rows.js';

const newPipeline = (over: Partial<NewPipeline> = {}): NewPipeline => ({
  project: 'p',
  ref: 'main',
  sha: null,
  name: 'pipeline',
  source: 'api',
  yaml: 'a:\n  script: x\n',
  model_json: '{}',
  variables_json: '{}',
  status: 'created',
  warnings_json: '[]',
  repository_url: null,
  created_at: 1_764_000_000_000,
  ...over,
});

const success: FinalReport = { status: 'success', exit_code: 0, failure: null, after_script_json: null, stopped_by: null };
const lost: FinalReport = {
  status: 'failed',
  exit_code: null,
  failure: {
    reason: 'runner_system_failure',
    stage: 'coordinator',
    message: 'runner lost',
    executor: null,
    image: null,
    registry: null,
    kind: null,
  },
  after_script_json: null,
  stopped_by: null,
};

/** Opens `n` of the pool's connections at once, so on PostgreSQL later transactions really run side by side. */
async function warmPool(sql: Sql, n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, () => sql.tx(() => sql.get('SELECT 1 AS one'))));
}

/** A promise and the function that resolves it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

forEachEngine('jobs table', (open, engine) => {
  test('withRunner: the job and its runner in one read; a job no runner took has nulls', async () => {
    const sql = await open();
    const jobs = new JobStore(sql);
    const runner = await addRunner(sql, { name: 'r-7', executor: 'docker' });
    const taken = await addJob(sql, { runner_id: runner, status: 'running' });
    const waiting = await addJob(sql);
    const t = (await jobs.withRunner(taken))!;
    assert.deepEqual([t.id, t.status, t.runner_id, t.runner_name, t.runner_executor], [taken, 'running', runner, 'r-7', 'docker']);
    const w = (await jobs.withRunner(waiting))!;
    assert.deepEqual([w.id, w.runner_name, w.runner_executor], [waiting, null, null]);
    assert.equal(await jobs.withRunner(waiting + 100), undefined);
  });

  test('insertMany: 1,200 rows in three batches, ids ascending in the order given, every column stored with its JS type', async () => {
    const sql = await open();
    const jobs = new JobStore(sql);
    const pid = await addPipeline(sql);
    const rows = Array.from({ length: 1200 }, (_, i) => newJob(pid, { name: `j${i}`, stage_index: i % 3, allow_failure: i % 2 }));
    const ids = await jobs.insertMany(rows);
    assert.equal(ids.length, 1200);
    assert.ok(
      ids.every((id, i) => typeof id === 'number' && (i === 0 || id > ids[i - 1]!)),
      'numbers, ascending',
    );
    const stored = await jobs.byPipeline(pid);
    assert.deepEqual(
      stored.map((j) => [j.id, j.name, j.stage_index, j.allow_failure]),
      rows.map((r, i) => [ids[i], r.name, r.stage_index, r.allow_failure]),
      'ids[i] is the row of rows[i]',
    );
    const j = (await jobs.get(ids[1199]!))!;
    assert.deepEqual(
      [j.pipeline_id, j.status, j.attempt, j.retry_of, j.created_at, j.queued_at, j.finish_pending, j.cancel_requested, j.trace_bytes],
      [pid, 'pending', 1, null, 1_764_000_000_000, 1_764_000_000_000, 0, 0, 0],
    );
    assert.deepEqual(await jobs.countOf(pid), { n: 1200, first: ids[0] });
    assert.equal(await jobs.insert(newJob(pid, { name: 'one' })), ids[1199]! + 1);
  });

  test('page and latest attempts: paged reads in id order; latestRef/latestRefs/latestPerName pick the highest attempt', async () => {
    const sql = await open();
    const jobs = new JobStore(sql);
    const pid = await addPipeline(sql);
    const other = await addPipeline(sql);
    const [a1, b1, , a2] = await jobs.insertMany([
      newJob(pid, { name: 'a' }),
      newJob(pid, { name: 'b' }),
      newJob(other, { name: 'a' }),
      newJob(pid, { name: 'a', attempt: 2 }),
    ]);
    await jobs.setEngineState(a1!, 'retried', 'retried by user');
    assert.deepEqual(
      (await jobs.page(pid, 0, 2)).map((j) => j.id),
      [a1, b1],
    );
    assert.deepEqual(
      (await jobs.page(pid, b1! + 1, 10)).map((j) => j.id),
      [a2],
      'the other pipeline is not in the page',
    );
    assert.deepEqual(await jobs.latestRef(pid, 'a'), { id: a2, attempt: 2, outcome: null, note: null });
    assert.deepEqual(
      await jobs.latestRefs(pid),
      new Map([
        ['a', { id: a2!, attempt: 2, outcome: null, note: null }],
        ['b', { id: b1!, attempt: 1, outcome: null, note: null }],
      ]),
    );
    assert.deepEqual(
      (await jobs.latestPerName(pid)).map((j) => j.id).sort((x, y) => x - y),
      [b1, a2],
    );
    assert.equal((await jobs.get(a1!))!.outcome, 'retried');
  });

  test('applyTransitions: returns the ids that changed; sets note, graceful, cancel_requested, queued_at, finished_at once', async () => {
    const sql = await open();
    const jobs = new JobStore(sql);
    const pid = await addPipeline(sql);
    const ids = await jobs.insertMany(
      Array.from({ length: 1100 }, (_, i) => newJob(pid, { name: `j${i}`, status: 'created', queued_at: null })),
    );
    const missing = ids[1099]! + 100;
    const pending = await jobs.applyTransitions({ ids: [...ids, missing], to: 'pending', note: null, graceful: false }, 10);
    assert.deepEqual(
      [...pending].sort((a, b) => a - b),
      ids,
      'every id over three statements, not the missing one',
    );
    assert.equal((await jobs.get(ids[0]!))!.queued_at, 10);
    const [x, y] = ids;
    const canceling = await jobs.applyTransitions({ ids: [x!], to: 'canceling', note: 'canceled by user', graceful: true }, 20);
    assert.deepEqual([...canceling], [x]);
    let jx = (await jobs.get(x!))!;
    assert.deepEqual(
      [jx.status, jx.note, jx.graceful, jx.cancel_requested, jx.queued_at, jx.finished_at],
      ['canceling', 'canceled by user', 1, 1, 10, null],
    );
    await jobs.applyTransition(x!, 'canceled', 30, null, false);
    await jobs.applyTransition(x!, 'canceled', 40, null, false);
    jx = (await jobs.get(x!))!;
    assert.deepEqual(
      [jx.status, jx.note, jx.graceful, jx.finished_at],
      ['canceled', 'canceled by user', 1, 30],
      'note and graceful kept, finished_at set once',
    );
    assert.equal((await jobs.get(y!))!.graceful, 0);
  });

  test('applyTransitions: a job whose final update waits to be finished only moves to a final state', async () => {
    const sql = await open();
    const jobs = new JobStore(sql);
    const pid = await addPipeline(sql);
    const [held, free] = await jobs.insertMany([newJob(pid, { name: 'held' }), newJob(pid, { name: 'free' })]);
    assert.ok(await jobs.casStart(held!, null, 'tok', 5));
    assert.equal(await jobs.storeFinal(held!, success, 6), true);
    assert.equal(await jobs.finishPendingOf(held!), 1);
    const moved = await jobs.applyTransitions({ ids: [held!, free!], to: 'canceling', note: null, graceful: false }, 7);
    assert.deepEqual([...moved], [free], 'finish_pending holds a running → canceling back');
    assert.equal((await jobs.get(held!))!.status, 'success');
    assert.deepEqual([...(await jobs.applyTransitions({ ids: [held!], to: 'failed', note: 'x', graceful: false }, 8))], [held]);
    assert.deepEqual(await jobs.finishPendingIds(), [held]);
    await jobs.clearFinishPending(held!);
    assert.equal(await jobs.finishPendingOf(held!), 0);
    assert.equal(await jobs.finishPendingOf(free! + 100), undefined);
  });

  test('takeFinish: clears the stored final update once, and only the one that was read', async () => {
    const sql = await open();
    const jobs = new JobStore(sql);
    const pid = await addPipeline(sql);
    const [a, b] = await jobs.insertMany([newJob(pid, { name: 'a' }), newJob(pid, { name: 'b' })]);
    for (const id of [a!, b!]) {
      await jobs.casStart(id, null, 't', 1);
      assert.equal(await jobs.storeFinal(id, success, 2), true);
    }
    assert.equal(await jobs.takeFinish(a!, 1), 'replaced', 'read before the final update: not that report');
    assert.equal(await jobs.finishPendingOf(a!), 1);
    assert.deepEqual(await jobs.takeFinish(a!, 2), { id: a, attempt: 1, outcome: null, note: null }, 'taken: its engine reference');
    assert.equal(await jobs.finishPendingOf(a!), 0);
    assert.equal(await jobs.takeFinish(a!, 2), 'done', 'a second finisher finds it finished');
    assert.equal(await jobs.takeFinish(b! + 100, 2), 'done', 'no such job');
  });

  test('casStart: pending → running once; a second claim of the same job fails', async () => {
    const sql = await open();
    const jobs = new JobStore(sql);
    const id = await jobs.insert(newJob(await addPipeline(sql)));
    const started = await jobs.casStart(id, null, 'hash-1', 100);
    assert.deepEqual(started, {
      id,
      pipeline_id: started?.pipeline_id,
      name: 'build',
      stage: 'test',
      attempt: 1,
      started_at: 100,
      trace_bytes: 0,
      outcome: null,
      note: null,
    });
    assert.equal(await jobs.casStart(id, null, 'hash-2', 200), undefined);
    assert.deepEqual(await jobs.authRow(id), {
      id,
      status: 'running',
      runner_id: null,
      token_hash: 'hash-1',
      cancel_requested: 0,
      last_update_at: 100,
      finished_at: null,
      received_at: null,
    });
    assert.deepEqual(await jobs.pendingTagSets(), []);
    assert.equal(await jobs.casStart(id + 100, null, 'h', 1), undefined, 'no such job');
  });

  test('storeFinal / storeLateFinal: compare-and-set on status and finish_pending', async () => {
    const sql = await open();
    const jobs = new JobStore(sql);
    const pid = await addPipeline(sql);
    const [a, b] = await jobs.insertMany([newJob(pid, { name: 'a' }), newJob(pid, { name: 'b' })]);
    assert.equal(await jobs.storeFinal(a!, success, 1), false, 'a pending job has no final update');
    await jobs.casStart(a!, null, 't', 2);
    assert.equal(await jobs.storeLateFinal(a!, success, 3), false, 'no coordinator verdict to replace');
    assert.equal(await jobs.storeFinal(a!, lost, 4), true);
    assert.equal(await jobs.storeFinal(a!, success, 5), false, 'already final');
    assert.equal(
      await jobs.storeLateFinal(a!, { ...success, stages_json: '["step_script"]' }, 6),
      true,
      'the runner’s real result replaces "runner lost"',
    );
    const ja = (await jobs.get(a!))!;
    assert.deepEqual(
      [ja.status, ja.exit_code, ja.failure_reason, ja.failure_stage, ja.finished_at, ja.finish_pending, ja.stages_json],
      ['success', 0, null, null, 6, 1, '["step_script"]'],
    );
    assert.equal(await jobs.storeLateFinal(a!, success, 7), false, 'only once: the verdict is no longer the coordinator’s');
    await jobs.casStart(b!, null, 't', 2);
    assert.equal(await jobs.storeFinal(b!, lost, 3), true);
    await jobs.clearFinishPending(b!);
    assert.equal(await jobs.storeLateFinal(b!, success, 4), false, 'the verdict was already applied');
    assert.equal((await jobs.get(b!))!.failure_reason, 'runner_system_failure');
  });

  test('pendingTagSets and pendingIter: distinct tag sets; pending jobs of the sets asked for, oldest first across sets, read lazily', async () => {
    const sql = await open();
    const jobs = new JobStore(sql);
    const pid = await addPipeline(sql);
    const tags = ['["linux"]', '[]', '["docker","linux"]', '["windows"]'];
    const rows = Array.from({ length: 40 }, (_, i) => newJob(pid, { name: `j${i}`, tags_json: tags[(i * 7) % 4]! }));
    const ids = await jobs.insertMany(rows);
    await jobs.applyTransitions({ ids: [ids[0]!, ids[5]!], to: 'canceled', note: null, graceful: false }, 1);
    assert.deepEqual(await jobs.pendingTagSets(), [...tags].sort(), 'byte order, each once');
    const want = ['[]', '["linux"]'];
    const expected = ids.filter((id, i) => i !== 0 && i !== 5 && want.includes(rows[i]!.tags_json));
    const got: number[] = [];
    for await (const j of jobs.pendingIter(want)) got.push(j.id);
    assert.deepEqual(got, expected);
    const first = await jobs.pendingIter(['["windows"]']).next();
    const w = rows.findIndex((r, i) => i !== 0 && i !== 5 && r.tags_json === '["windows"]');
    assert.deepEqual(first.value, { id: ids[w], pipeline_id: pid, name: `j${w}`, tags_json: '["windows"]' });
    assert.equal((await jobs.pendingIter(['["nobody"]']).next()).done, true);
  });

  test('pendingIn: the oldest pending job of one pipeline with one of the tag sets, but the ids excepted', async () => {
    const sql = await open();
    const jobs = new JobStore(sql);
    const [p1, p2] = [await addPipeline(sql), await addPipeline(sql)];
    const [a, b, c, d, e] = await jobs.insertMany([
      newJob(p2, { name: 'other-pipeline', tags_json: '[]' }),
      newJob(p1, { name: 'canceled', tags_json: '[]' }),
      newJob(p1, { name: 'windows', tags_json: '["windows"]' }),
      newJob(p1, { name: 'linux', tags_json: '["linux"]' }),
      newJob(p1, { name: 'untagged', tags_json: '[]' }),
    ]);
    await jobs.applyTransitions({ ids: [b!], to: 'canceled', note: null, graceful: false }, 1);
    const sets = ['[]', '["linux"]'];
    assert.equal((await jobs.pendingIn(p1, sets, []))?.id, d, 'not canceled, not another tag set, not another pipeline');
    assert.equal((await jobs.pendingIn(p1, sets, [d!]))?.id, e);
    assert.equal(await jobs.pendingIn(p1, sets, [d!, e!]), undefined);
    assert.equal((await jobs.pendingIn(p1, ['["windows"]'], []))?.id, c);
    assert.equal((await jobs.pendingIn(p2, sets, []))?.id, a);
  });

  test("casStart orNext: the job asked for while pending, else the same pipeline's oldest pending job of the tag sets, but those excepted", async () => {
    const sql = await open();
    const jobs = new JobStore(sql);
    const [p1, p2] = [await addPipeline(sql), await addPipeline(sql)];
    const [a, b, c, d, e] = await jobs.insertMany([
      newJob(p2, { name: 'other-pipeline', tags_json: '[]' }),
      newJob(p1, { name: 'asked', tags_json: '[]' }),
      newJob(p1, { name: 'windows', tags_json: '["windows"]' }),
      newJob(p1, { name: 'excepted', tags_json: '[]' }),
      newJob(p1, { name: 'next', tags_json: '["linux"]' }),
    ]);
    const next = { pipelineId: p1, tagSets: ['[]', '["linux"]'], except: [d!] };
    assert.equal((await jobs.casStart(b!, null, 'h1', 1, next))?.id, b, 'still pending: the job asked for');
    const fell = await jobs.casStart(b!, null, 'h2', 2, next);
    assert.equal(fell?.id, e, 'taken: the next one, not another tag set, not excepted, not another pipeline');
    assert.equal(fell?.name, 'next');
    assert.equal(await jobs.casStart(b!, null, 'h3', 3, next), undefined, 'nothing left to fall back to');
    assert.equal((await jobs.get(d!))?.status, 'pending');
    assert.equal((await jobs.get(c!))?.status, 'pending');
    assert.equal((await jobs.get(a!))?.status, 'pending');
    assert.equal((await jobs.get(b!))?.token_hash, 'h1', 'the first claim stands');
  });

  test("beginStep's changed: the latest attempts written after the engine's version, read under the lock (PostgreSQL)", async () => {
    const sql = await open();
    const jobs = new JobStore(sql);
    const pipelines = new PipelineStore(sql);
    const [p, q] = [await addPipeline(sql), await addPipeline(sql)];
    const [a, b, other] = await jobs.insertMany([newJob(p, { name: 'a' }), newJob(p, { name: 'b' }), newJob(q, { name: 'other' })]);
    const step = (fn: () => Promise<unknown>) => sql.tx(async () => (await pipelines.beginStep(p), fn()));
    /** What a step's start tells an engine at `v` (the step rolled back, so the version stays). */
    const since = async (v: number) => {
      let begun: Awaited<ReturnType<PipelineStore['beginStep']>>;
      await sql
        .tx(async () => {
          begun = await pipelines.beginStep(p, v);
          throw new Error('roll back');
        })
        .catch(() => {});
      return begun!.changed?.map((r) => `${r.name}#${r.attempt}:${r.status}`);
    };
    await step(() => jobs.casStart(a!, null, 'h', 1)); // version 1
    if (engine === 'sqlite') {
      assert.equal(await since(0), undefined, 'one coordinator per SQLite file: never behind, never told');
      return;
    }
    await sql.tx(async () => (await pipelines.beginStep(q), jobs.casStart(other!, null, 'h', 1)));
    assert.deepEqual(await since(0), ['a#1:running'], "the step's write; not another pipeline's");
    assert.equal(await since(1), undefined, 'at the version: nothing to tell');
    await jobs.received(b!, 2);
    assert.deepEqual(await since(0), ['a#1:running'], 'received_at is not an engine column');
    await jobs.applyTransition(b!, 'canceled', 3, null, false); // outside a step: the committed version
    assert.deepEqual(await since(0), ['a#1:running', 'b#1:canceled']);
    const b2 = (await step(() => jobs.insert(newJob(p, { name: 'b', attempt: 2, retry_of: b!, status: 'pending' })))) as number; // version 2
    assert.deepEqual(await since(1), ['b#2:pending'], "a retry's new attempt");
    assert.deepEqual(await since(0), ['a#1:running', 'b#2:pending'], 'the latest attempt of each job only');
    await step(() => jobs.applyTransition(b!, 'canceled', 4, 'late', false)); // version 3
    assert.deepEqual(await since(2), [], 'a write to an older attempt: behind, and nothing the engine holds changed');
    await step(() => jobs.casStart(b2, null, 'h', 5)); // version 4
    assert.deepEqual(await since(3), ['b#2:running']);
    const last = await step(() => Promise.resolve()).then(() => since(4));
    assert.deepEqual(last, [], 'a step that wrote nothing');
  });

  test('lastGreen: the latest successful job of the same project and name before a job', async () => {
    const sql = await open();
    const jobs = new JobStore(sql);
    const pid = await addPipeline(sql);
    const other = await addPipeline(sql, { project: 'q' });
    const [g1, , g2, otherProject, otherName, now] = await jobs.insertMany([
      newJob(pid, { status: 'success' }),
      newJob(pid, { status: 'failed' }),
      newJob(pid, { status: 'success' }),
      newJob(other, { project: 'q', status: 'success' }),
      newJob(pid, { name: 'lint', status: 'success' }),
      newJob(pid, { status: 'failed' }),
    ]);
    assert.equal(await jobs.lastGreen('p', 'build', now!), g2);
    assert.equal(await jobs.lastGreen('p', 'build', g2!), g1);
    assert.equal(await jobs.lastGreen('p', 'build', g1!), undefined);
    assert.equal(await jobs.lastGreen('q', 'build', now!), otherProject);
    assert.equal(await jobs.lastGreen('p', 'lint', now!), otherName);
  });
});

forEachEngine(
  'jobs table: two coordinators claiming one job',
  (open) => {
    test('two transactions claiming the same pending job: exactly one wins, the other skips it without waiting', async () => {
      const sql = await open();
      const jobs = new JobStore(sql);
      const id = await jobs.insert(newJob(await addPipeline(sql)));
      await warmPool(sql, 3);
      const claimed = gate();
      const release = gate();
      const first = sql.tx(async () => {
        const won = !!(await jobs.casStart(id, null, 'first', 1));
        claimed.open();
        await release.wait; // hold the row lock
        return won;
      });
      await claimed.wait;
      const second = sql.tx(async () => !!(await jobs.casStart(id, null, 'second', 2)));
      // SKIP LOCKED: the second answers while the first still holds the row, not after it commits
      const early = await Promise.race([second, new Promise((r) => setTimeout(r, 3000, 'waited for the first to commit'))]);
      release.open();
      assert.deepEqual([await first, early, await second], [true, false, false]);
      assert.equal((await jobs.authRow(id))!.token_hash, 'first');
    });

    test('eight coordinators racing for four jobs: each job to exactly one, none lost', async () => {
      const sql = await open();
      const jobs = new JobStore(sql);
      const pid = await addPipeline(sql);
      const ids = await jobs.insertMany([1, 2, 3, 4].map((i) => newJob(pid, { name: `j${i}` })));
      await warmPool(sql, 8);
      const wins = await Promise.all(
        Array.from({ length: 8 }, (_, c) =>
          sql.tx(async () => {
            for await (const j of jobs.pendingIter(['[]'])) if (await jobs.casStart(j.id, null, `c${c}`, 1)) return j.id;
            return null;
          }),
        ),
      );
      const got = wins.filter((w): w is number => w !== null).sort((a, b) => a - b);
      assert.deepEqual(got, ids, JSON.stringify(wins));
      assert.deepEqual(await jobs.pendingTagSets(), []);
    });

    test('the runner’s final update and the reaper’s runner-lost verdict at once: exactly one is stored', async () => {
      const sql = await open();
      const jobs = new JobStore(sql);
      const id = await jobs.insert(newJob(await addPipeline(sql)));
      await jobs.casStart(id, null, 't', 1);
      await warmPool(sql, 3);
      const stored = gate();
      const release = gate();
      const runner = sql.tx(async () => {
        const ok = await jobs.storeFinal(id, success, 2);
        stored.open();
        await release.wait; // the row stays locked, its new version uncommitted
        return ok;
      });
      await stored.wait;
      const reaper = sql.tx(() => jobs.storeFinal(id, lost, 3)); // waits for the row, then re-checks its WHERE
      await new Promise((r) => setTimeout(r, 100));
      release.open();
      assert.deepEqual([await runner, await reaper], [true, false]);
      assert.equal((await jobs.get(id))!.status, 'success');
    });

    test('a stuck pending job failed by the reaper while a runner claims it: exactly one wins', async () => {
      const sql = await open();
      const jobs = new JobStore(sql);
      const pid = await addPipeline(sql);
      const ids = await jobs.insertMany([1, 2, 3, 4, 5, 6].map((i) => newJob(pid, { name: `j${i}` })));
      await warmPool(sql, 8);
      const stuck = lost.failure!;
      const results = await Promise.all(
        ids.flatMap((id) => [
          sql.tx(() => jobs.casStart(id, null, 'runner', 5)).then((won) => (won ? 'running' : null)),
          sql.tx(() => jobs.failPending(id, { ...stuck, reason: 'stuck_or_timeout_failure' }, 5)).then((won) => (won ? 'failed' : null)),
        ]),
      );
      for (let i = 0; i < ids.length; i++) {
        const won = results.slice(2 * i, 2 * i + 2).filter((r) => r !== null);
        assert.equal(won.length, 1, `job ${ids[i]}: ${JSON.stringify(results.slice(2 * i, 2 * i + 2))}`);
        assert.equal((await jobs.get(ids[i]!))!.status, won[0]);
      }
    });
  },
  { engines: ['postgres'] },
);

forEachEngine('pipelines table', (open, engine) => {
  test('reserveId then insert with it; insert without an id takes the next; every column read back with its JS type', async () => {
    const sql = await open();
    const pipelines = new PipelineStore(sql);
    const id = await pipelines.reserveId();
    assert.equal(typeof id, 'number');
    assert.equal(await pipelines.insert(newPipeline({ id, sha: 'abc' })), id);
    const next = await pipelines.insert(newPipeline());
    assert.ok(next > id, `${next} > ${id}`);
    assert.ok((await pipelines.reserveId()) > next);
    const row = (await pipelines.get(id))!;
    assert.deepEqual(
      [row.sha, row.status, row.canceled, row.has_warnings, row.halted_by_job_id, row.created_at, row.started_at, row.parent_pipeline_id],
      ['abc', 'created', 0, 0, null, 1_764_000_000_000, null, null],
    );
    const light = (await pipelines.getLight(id))!;
    assert.equal('yaml' in light || 'model_json' in light, false);
    assert.equal(light.project, 'p');
  });

  test('identity: the creation-time columns, read once per pipeline; a read inside a transaction is not kept', async () => {
    const sql = await open();
    const pipelines = new PipelineStore(sql);
    const id = await pipelines.insert(newPipeline({ sha: 'abc', repository_url: 'https://git.example/p.git' }));
    const first = (await pipelines.identity(id))!;
    assert.deepEqual(
      [first.id, first.project, first.ref, first.sha, first.repository_url, first.created_at],
      [id, 'p', 'main', 'abc', 'https://git.example/p.git', 1_764_000_000_000],
    );
    assert.equal('status' in first || 'yaml' in first, false, 'only columns no step rewrites');
    // Kept: a change behind its back (none is ever made) is not read again.
    await sql.run('UPDATE pipelines SET sha = ? WHERE id = ?', ['changed', id]);
    assert.equal((await pipelines.identity(id))!.sha, 'abc');
    assert.equal(await pipelines.identity(id + 1000), undefined);
    // Read inside a transaction: answered, not kept (the row may roll back with it).
    const other = await pipelines.insert(newPipeline({ sha: 'one' }));
    await sql.tx(async () => assert.equal((await pipelines.identity(other))!.sha, 'one'));
    await sql.run('UPDATE pipelines SET sha = ? WHERE id = ?', ['two', other]);
    assert.equal((await pipelines.identity(other))!.sha, 'two');
  });

  if (engine === 'postgres')
    test('two coordinators reserving at once get different ids', async () => {
      const sql = await open();
      const pipelines = new PipelineStore(sql);
      await warmPool(sql, 4);
      const ids = await Promise.all([1, 2, 3, 4].map(() => sql.tx(() => pipelines.reserveId())));
      assert.equal(new Set(ids).size, 4, ids.join(' '));
      await Promise.all(ids.map((id) => pipelines.insert(newPipeline({ id }))));
      assert.equal((await pipelines.list({ limit: 10, offset: 0 })).total, 4);
    });

  test('beginStep: version 0 at insert; a second step waits for the first and sees its version; a rolled-back step leaves none', async () => {
    const sql = await open();
    const pipelines = new PipelineStore(sql);
    const id = await pipelines.insert(newPipeline());
    assert.equal(await pipelines.beginStep(id + 100), undefined);
    await warmPool(sql, 3);
    const locked = gate();
    const release = gate();
    const order: string[] = [];
    const first = sql.tx(async () => {
      const { version, summary } = (await pipelines.beginStep(id))!;
      order.push(`first v${version} ${summary.status}`);
      locked.open();
      await release.wait;
      await pipelines.updateSummary(id, { ...summary, status: 'running', has_warnings: false, canceled: false });
      order.push('first committed');
      return version;
    });
    await locked.wait;
    const second = sql.tx(async () => {
      const { version, summary } = (await pipelines.beginStep(id))!;
      order.push(`second v${version} ${summary.status}`);
      return version;
    });
    await new Promise((r) => setTimeout(r, 100)); // long enough for the second to begin, were it not waiting
    release.open();
    assert.deepEqual([await first, await second], [1, 2]);
    assert.deepEqual(order, ['first v1 created', 'first committed', 'second v2 running']);
    await assert.rejects(
      sql.tx(async () => {
        await pipelines.beginStep(id);
        throw new Error('engine refused');
      }),
      /engine refused/,
    );
    assert.equal((await sql.tx(() => pipelines.beginStep(id)))!.version, 3, 'the rolled-back step took no version');
  });

  test('summary, parents and children; unfinishedOnRef', async () => {
    const sql = await open();
    const pipelines = new PipelineStore(sql);
    const jobs = new JobStore(sql);
    const parent = await pipelines.insert(newPipeline({ status: 'running' }));
    const trigger = await jobs.insert(newJob(parent, { name: 'deploy' }));
    const child = await pipelines.insert(newPipeline({ source: 'parent_pipeline' }));
    await pipelines.setParent(child, parent, trigger);
    await pipelines.updateSummary(child, {
      status: 'failed',
      halted_by_job_id: null,
      has_warnings: true,
      started_at: 5,
      finished_at: 9,
      failure_class: 'infra',
      canceled: false,
    });
    assert.deepEqual(await pipelines.summaryOf(child), {
      status: 'failed',
      halted_by_job_id: null,
      has_warnings: 1,
      started_at: 5,
      finished_at: 9,
      failure_class: 'infra',
      canceled: 0,
    });
    assert.deepEqual(await pipelines.children(parent), [{ id: child, trigger_job_id: trigger, status: 'failed' }]);
    assert.deepEqual(await pipelines.childOfJob(trigger), { id: child, trigger_job_id: trigger, status: 'failed' });
    assert.deepEqual(await pipelines.parentOf(child), { parent, trigger_job_id: trigger });
    assert.equal(await pipelines.parentOf(parent), undefined);
    assert.deepEqual([await pipelines.depth(parent), await pipelines.depth(child)], [0, 1]);
    const later = await pipelines.insert(newPipeline());
    assert.deepEqual(await pipelines.unfinishedOnRef('p', 'main', later + 1), [parent, later], 'the failed child is finished');
    assert.deepEqual(await pipelines.unfinishedOnRef('p', 'other', later + 1), []);
  });

  test('list: newest first, paged by limit/offset, filtered by ref, status and project; total counts all matches', async () => {
    const sql = await open();
    const pipelines = new PipelineStore(sql);
    const ids: number[] = [];
    for (let i = 0; i < 7; i++)
      ids.push(
        await pipelines.insert(
          newPipeline({ ref: i % 2 ? 'dev' : 'main', status: i < 3 ? 'success' : 'running', project: i === 6 ? 'q' : 'p' }),
        ),
      );
    const all = await pipelines.list({ limit: 3, offset: 0 });
    assert.deepEqual([all.total, all.rows.map((r) => r.id)], [7, [ids[6], ids[5], ids[4]]]);
    assert.equal(typeof all.total, 'number');
    const page3 = await pipelines.list({ limit: 3, offset: 6 });
    assert.deepEqual([page3.total, page3.rows.map((r) => r.id)], [7, [ids[0]]]);
    const main = await pipelines.list({ limit: 10, offset: 0, ref: 'main', status: 'running' });
    assert.deepEqual([main.total, main.rows.map((r) => r.id)], [2, [ids[6], ids[4]]]);
    const q = await pipelines.list({ limit: 10, offset: 0, project: 'q' });
    assert.deepEqual([q.total, q.rows.map((r) => r.id)], [1, [ids[6]]]);
    assert.deepEqual(await pipelines.list({ limit: 10, offset: 0, ref: 'Main' }), { rows: [], total: 0 }, 'case-sensitive');
  });
});
