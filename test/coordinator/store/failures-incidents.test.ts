// The failure queries (store/failures.ts), the error_lines table, the incidents tables and the
// MTTR queries over them, each test run on SQLite and on a real PostgreSQL server
// (test/helpers/store-engines.ts). Rows around them are written with plain SQL.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MttrService } from '../../../src/coordinator/services/mttr.js';
import type { Sql } from '../../../src/coordinator/store/engine.js';
import { ErrorLineStore } from '../../../src/coordinator/store/error-lines.js';
import {
  failureCountsByPipeline,
  failureRatioBuckets,
  fallbackDecided,
  listFailures,
  summarizeFailures,
} from '../../../src/coordinator/store/failures.js';
import { IncidentStore, type IncidentKeyRow } from '../../../src/coordinator/store/incidents.js';
import { forEachEngine } from '../../helpers/store-engines.js';
import { addJob, addPipeline, addRunner } from '../../helpers/store-rows.js';

const HOUR = 3_600_000;
const T0 = 1_764_000_000_000;

/** A finished failed job (of its own pipeline unless given). */
const failed = (sql: Sql, at: number, over: Record<string, unknown> = {}) =>
  addJob(sql, { status: 'failed', failure_class: 'infra', failure_cause: 'registry_unreachable', finished_at: at, ...over });

forEachEngine('failure queries', (open) => {
  test('listFailures: every filter, newest first, keyset pages across equal finish times', async () => {
    const sql = await open();
    const r1 = await addRunner(sql, { name: 'docker-1' });
    const r2 = await addRunner(sql, { name: 'shell-1' });
    const a = await failed(sql, T0 + 3, { runner_id: r1, failure_executor: 'docker', failure_registry: 'docker.io', failure_image: 'a:1' });
    const b = await failed(sql, T0 + 2, { runner_id: r1, failure_executor: 'docker', failure_registry: 'quay.io', ref: 'dev' });
    const c = await failed(sql, T0 + 2, {
      runner_id: r2,
      failure_class: 'build',
      failure_cause: 'script',
      failure_reason: 'script_failure',
    });
    const d = await failed(sql, T0 + 1, { name: 'lint', failure_executor: 'kubernetes' });
    await addJob(sql, { status: 'success', finished_at: T0 + 5 });
    await addJob(sql, { status: 'failed', failure_class: 'infra' }); // not finished yet
    const ids = async (f: Partial<Parameters<typeof listFailures>[1]>) =>
      (await listFailures(sql, { limit: 50, ...f })).rows.map((r) => r.id);
    assert.deepEqual(await ids({}), [a, c, b, d]);
    assert.deepEqual(await ids({ class: 'build' }), [c]);
    assert.deepEqual(await ids({ reason: 'script_failure' }), [c]);
    assert.deepEqual(await ids({ cause: 'registry_unreachable', ref: 'main' }), [a, d]);
    assert.deepEqual(await ids({ job: 'lint' }), [d]);
    assert.deepEqual(await ids({ runner: r1 }), [a, b]);
    assert.deepEqual(await ids({ image: 'a:1' }), [a]);
    assert.deepEqual(await ids({ executor: ['docker', 'kubernetes'] }), [a, b, d]);
    assert.deepEqual(await ids({ registry: ['quay.io'] }), [b]);
    assert.deepEqual(await ids({ runnerName: ['shell-1', 'nobody'] }), [c]);
    assert.deepEqual(await ids({ since: T0 + 2, until: T0 + 3 }), [c, b]);
    const seen: number[] = [];
    let before: { finished_at: number; id: number } | undefined;
    for (let page = 0; page < 10; page++) {
      const p = await listFailures(sql, { limit: 1, before });
      seen.push(...p.rows.map((r) => r.id));
      if (!p.next) break;
      assert.equal(typeof p.next.finished_at, 'number');
      before = p.next;
    }
    assert.deepEqual(seen, [a, c, b, d]);
  });

  test('summarizeFailures: by class and cause, biggest first, ties by name, an unknown (NULL) cause before named ones', async () => {
    const sql = await open();
    for (const [cls, cause, n] of [
      ['infra', 'registry_unreachable', 3],
      ['build', 'script', 2],
      ['infra', null, 2],
      ['infra', 'disk_full', 2],
    ] as const)
      for (let i = 0; i < n; i++) await failed(sql, T0 + i, { failure_class: cls, failure_cause: cause });
    await failed(sql, T0 + 10_000, { failure_cause: 'outside' });
    assert.deepEqual(await summarizeFailures(sql, T0, T0 + 10_000), [
      { class: 'infra', cause: 'registry_unreachable', count: 3 },
      { class: 'build', cause: 'script', count: 2 },
      { class: 'infra', cause: null, count: 2 },
      { class: 'infra', cause: 'disk_full', count: 2 },
    ]);
  });

  test('failureRatioBuckets: whole-number buckets from `since`, infra and build among every finished job', async () => {
    const sql = await open();
    await failed(sql, T0 + 10);
    await failed(sql, T0 + HOUR - 1, { failure_class: 'build' });
    await addJob(sql, { status: 'success', finished_at: T0 + 20 });
    await failed(sql, T0 + 2 * HOUR + 5);
    await addJob(sql, { status: 'canceled', finished_at: T0 + 30 });
    await failed(sql, T0 - 1);
    assert.deepEqual(await failureRatioBuckets(sql, T0, T0 + 3 * HOUR, HOUR), [
      { t: T0, infra: 1, build: 1, total: 3 },
      { t: T0 + HOUR, infra: 0, build: 0, total: 0 },
      { t: T0 + 2 * HOUR, infra: 1, build: 0, total: 1 },
    ]);
    // the overview's "last hour": one bucket a millisecond wider than the window
    assert.deepEqual(await failureRatioBuckets(sql, T0, T0 + HOUR, HOUR + 1), [{ t: T0, infra: 1, build: 1, total: 3 }]);
  });

  test('fallbackDecided and failure counts per pipeline (latest attempt of each job only)', async () => {
    const sql = await open();
    const p1 = await addPipeline(sql);
    const p2 = await addPipeline(sql);
    const first = await failed(sql, T0 + 1, { pipeline_id: p1, name: 'a', attempt: 1, failure_fallback: 1 });
    await failed(sql, T0 + 2, { pipeline_id: p1, name: 'a', attempt: 2, failure_class: 'build' });
    await failed(sql, T0 + 3, { pipeline_id: p1, name: 'b' });
    const late = await failed(sql, T0 + 4, { pipeline_id: p2, name: 'a', failure_fallback: 1 });
    await failed(sql, T0 + 5, { pipeline_id: p2, name: 'b', failure_fallback: 0 });
    const fb = await fallbackDecided(sql, T0, 1);
    assert.deepEqual([fb.count, fb.rows.map((r) => r.id)], [2, [late]]);
    assert.deepEqual(
      (await fallbackDecided(sql, T0 + 2, 10)).rows.map((r) => r.id),
      [late],
    );
    assert.ok(first > 0);
    assert.deepEqual(
      await failureCountsByPipeline(sql, [p1, p2, p2 + 100]),
      new Map([
        [p1, { build: 1, infra: 1 }],
        [p2, { infra: 2 }],
      ]),
    );
    assert.deepEqual(await failureCountsByPipeline(sql, []), new Map());
  });
});

forEachEngine('error_lines table', (open) => {
  test('widespread: lines failing ≥ minJobs jobs of ≥ 2 projects or refs, newest and biggest first; duplicates and old rows ignored', async () => {
    const sql = await open();
    const lines = new ErrorLineStore(sql);
    const line = (normalized: string, job_id: number, project: string, ref: string, at: number) =>
      lines.insert({ normalized, job_id, example: `${normalized} #${job_id}`, project, ref, at });
    await line('conn refused <n>', 3, 'a', 'main', 30);
    await line('conn refused <n>', 1, 'b', 'main', 10);
    await line('conn refused <n>', 2, 'a', 'main', 20);
    await line('conn refused <n>', 2, 'a', 'main', 99); // the same job again: ignored
    await line('one project one ref', 4, 'a', 'main', 40);
    await line('one project one ref', 5, 'a', 'main', 41);
    await line('one project one ref', 6, 'a', 'main', 42);
    await line('two refs', 7, 'a', 'main', 50);
    await line('two refs', 8, 'a', 'dev', 60);
    await line('old', 9, 'a', 'main', 1);
    await line('old', 10, 'b', 'dev', 2);
    const rows = await lines.widespread(5, 2, 10);
    assert.deepEqual(
      rows.map((r) => ({ ...r, job_ids: r.job_ids.split(',').map(Number).sort() })),
      [
        {
          normalized: 'conn refused <n>',
          example_line: 'conn refused <n> #1',
          job_count: 3,
          project_count: 2,
          ref_count: 1,
          first_at: 10,
          last_at: 30,
          job_ids: [1, 2, 3],
        },
        {
          normalized: 'two refs',
          example_line: 'two refs #7',
          job_count: 2,
          project_count: 1,
          ref_count: 2,
          first_at: 50,
          last_at: 60,
          job_ids: [7, 8],
        },
      ],
    );
    assert.deepEqual(
      (await lines.widespread(0, 3, 10)).map((r) => r.normalized),
      ['conn refused <n>'],
    );
    assert.equal((await lines.widespread(5, 2, 1)).length, 1);
    await lines.prune(25);
    assert.deepEqual(
      (await lines.widespread(0, 2, 10)).map((r) => r.normalized),
      ['two refs'],
    );
  });
});

const registry: IncidentKeyRow = {
  cause: 'registry_unreachable',
  dependency_kind: 'registry',
  target: 'registry.local:5000',
  runner_id: null,
};

forEachEngine('incidents tables and MTTR', (open) => {
  test('recordFailure: one unresolved incident per key, each job once, first/last failure widened; states pending → open → acknowledged → resolved', async () => {
    const sql = await open();
    const incidents = new IncidentStore(sql);
    const j = [await failed(sql, 0), await failed(sql, 0), await failed(sql, 0)];
    const first = await incidents.recordFailure(registry, j[0]!, T0 + 100);
    assert.deepEqual(
      [first.state, first.scope, first.job_count, first.first_failure_at, first.last_failure_at, first.opened_at, first.runner_id],
      ['pending', 'registry', 1, T0 + 100, T0 + 100, null, null],
    );
    await incidents.recordFailure(registry, j[1]!, T0 + 50);
    const again = await incidents.recordFailure(registry, j[1]!, T0 + 500);
    assert.deepEqual([again.id, again.job_count, again.first_failure_at, again.last_failure_at], [first.id, 2, T0 + 50, T0 + 100]);
    const other = await incidents.recordFailure({ ...registry, target: 'quay.io' }, j[2]!, T0 + 200);
    assert.notEqual(other.id, first.id);
    assert.equal(await incidents.acknowledge(first.id, T0 + 300, 'x'), false, 'a pending incident is not acknowledged');
    assert.equal(await incidents.markOpen(first.id, T0 + 300), true);
    assert.equal(await incidents.markOpen(first.id, T0 + 301), false);
    assert.equal(await incidents.acknowledge(first.id, T0 + 400, 'looking'), true);
    assert.deepEqual(
      (await incidents.unresolved()).map((i) => [i.id, i.state]),
      [
        [first.id, 'acknowledged'],
        [other.id, 'pending'],
      ],
    );
    const by = {
      kind: 'image_pull' as const,
      at: new Date(T0 + 900).toISOString(),
      job_id: 99,
      registry: 'registry.local:5000',
      image: 'x',
    };
    assert.equal(await incidents.resolve(first.id, T0 + 900, 'evidence', by), true);
    assert.equal(await incidents.resolve(first.id, T0 + 901, 'person', { kind: 'person', at: '', note: 'n' }, 'late'), false);
    const done = (await incidents.get(first.id))!;
    assert.deepEqual(
      [done.state, done.resolved_at, done.resolved_reason, JSON.parse(done.resolved_by_json!), done.note, done.acknowledged_at],
      ['resolved', T0 + 900, 'evidence', by, 'looking', T0 + 400],
    );
    const next = await incidents.recordFailure(registry, j[0]!, T0 + 1000);
    assert.ok(next.id !== first.id && next.state === 'pending', 'after resolution the key starts a new incident');
  });

  test('recordFailure from concurrent transactions on one key: one incident counting every job', async () => {
    const sql = await open();
    const incidents = new IncidentStore(sql);
    const jobs = await Promise.all(Array.from({ length: 6 }, () => failed(sql, 0)));
    // open the pool's connections first, so the transactions really run side by side on PostgreSQL
    await Promise.all(jobs.map(() => sql.tx(() => sql.get('SELECT 1 AS one'))));
    await Promise.all(jobs.map((id, i) => incidents.recordFailure(registry, id, T0 + i)));
    const rows = await incidents.unresolved();
    assert.deepEqual(
      rows.map((r) => [r.job_count, r.first_failure_at, r.last_failure_at]),
      [[6, T0, T0 + 5]],
    );
  });

  test('jobs and jobKeys of an incident (a deleted job still listed); list by state and since; resolvedBetween', async () => {
    const sql = await open();
    const incidents = new IncidentStore(sql);
    const p = await addPipeline(sql, { project: 'web' });
    const j1 = await failed(sql, T0, {
      pipeline_id: p,
      project: 'web',
      name: 'build',
      failure_reason: 'image_pull_failed',
      failure_summary: 'pull',
    });
    const j2 = await failed(sql, T0, { pipeline_id: p, project: 'web', name: 'build' });
    const a = await incidents.recordFailure(registry, j1, T0 + 10);
    await incidents.recordFailure(registry, j2, T0 + 20);
    await incidents.recordFailure(registry, 424242, T0 + 30); // its pipeline was deleted since
    assert.deepEqual(await incidents.jobs(a.id), [
      {
        job_id: j1,
        at: T0 + 10,
        name: 'build',
        pipeline_id: p,
        project: 'web',
        ref: 'main',
        status: 'failed',
        failure_reason: 'image_pull_failed',
        failure_summary: 'pull',
      },
      {
        job_id: j2,
        at: T0 + 20,
        name: 'build',
        pipeline_id: p,
        project: 'web',
        ref: 'main',
        status: 'failed',
        failure_reason: null,
        failure_summary: null,
      },
      {
        job_id: 424242,
        at: T0 + 30,
        name: null,
        pipeline_id: null,
        project: null,
        ref: null,
        status: null,
        failure_reason: null,
        failure_summary: null,
      },
    ]);
    assert.deepEqual(await incidents.jobKeys(a.id), [{ project: 'web', name: 'build' }]);

    const pending = await incidents.recordFailure({ ...registry, target: 'never-opened' }, j1, T0 + 5);
    const b = await incidents.recordFailure({ ...registry, target: 'b' }, j1, T0 + 40);
    await incidents.markOpen(a.id, T0 + 100);
    await incidents.markOpen(b.id, T0 + 200);
    await incidents.resolve(a.id, T0 + 1000, 'evidence', { kind: 'expired', at: '' });
    const list = async (q: Partial<Parameters<IncidentStore['list']>[0]>) => (await incidents.list({ limit: 10, ...q })).map((i) => i.id);
    assert.deepEqual(await list({}), [b.id, a.id]);
    assert.deepEqual(await list({ state: 'all' }), [b.id, a.id, pending.id]);
    assert.deepEqual(await list({ state: 'open' }), [b.id]);
    assert.deepEqual(await list({ state: 'resolved' }), [a.id]);
    assert.deepEqual(await list({ state: 'pending' }), [pending.id]);
    assert.deepEqual(await list({ since: T0 + 1001 }), [b.id]);
    assert.deepEqual(await list({ limit: 1 }), [b.id]);
    assert.deepEqual(
      (await incidents.resolvedBetween(T0, T0 + 1000)).map((i) => i.id),
      [a.id],
    );
    assert.deepEqual(await incidents.resolvedBetween(T0 + 1001, T0 + 2000), []);
  });

  test('MTTR over the tables: per-ref recoveries from pipelines, the first failure’s cause, incident durations, open count', async () => {
    const sql = await open();
    const incidents = new IncidentStore(sql);
    const mttr = new MttrService(sql, incidents);
    const pipeline = (status: string, at: number, failure_class: string | null = null, ref = 'main') =>
      addPipeline(sql, { status, failure_class, finished_at: at, ref });
    await pipeline('success', T0);
    const broke = await pipeline('failed', T0 + 10_000, 'infra');
    await addJob(sql, { pipeline_id: broke, status: 'failed', failure_class: 'build', failure_cause: 'script', allow_failure: 0 });
    await addJob(sql, {
      pipeline_id: broke,
      status: 'failed',
      failure_class: 'infra',
      failure_cause: 'registry_unreachable',
      allow_failure: 0,
    });
    await pipeline('failed', T0 + 20_000, 'build');
    await pipeline('failed', T0 + 25_000, 'build', 'dev');
    const green = await pipeline('success', T0 + 70_000);
    assert.deepEqual(await mttr.recoveryAt({ id: green, project: 'p', ref: 'main', finished_at: T0 + 70_000 }), {
      class: 'infra',
      cause: 'registry_unreachable',
      seconds: 60,
    });
    assert.equal(await mttr.recoveryAt({ id: 999, project: 'p', ref: 'main', finished_at: T0 + 5 }), null, 'nothing was broken');

    const job = await failed(sql, T0);
    const inc = await incidents.recordFailure(registry, job, T0 + 1000);
    await incidents.markOpen(inc.id, T0 + 2000);
    await incidents.resolve(inc.id, T0 + 32_000, 'evidence', { kind: 'expired', at: '' });
    const still = await incidents.recordFailure({ ...registry, target: 'other' }, job, T0 + 3000);
    await incidents.markOpen(still.id, T0 + 3000);

    const report = await mttr.report(T0, T0 + 100_000);
    assert.deepEqual(report.pipelines.infra, { count: 1, mean_seconds: 60, p50_seconds: 60, max_seconds: 60 });
    assert.equal(report.pipelines.build.count, 0);
    assert.deepEqual(
      report.pipelines.refs.map((r) => [r.ref, r.recoveries.map((x) => [x.failed_pipeline_id, x.recovered_pipeline_id]), r.broken_class]),
      [
        ['main', [[broke, green]], null],
        ['dev', [], 'build'],
      ],
    );
    assert.deepEqual(report.incidents, { count: 1, mean_seconds: 30, p50_seconds: 30, max_seconds: 30, open: 1 });
  });
});
