import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SCHEMA_VERSIONS } from '../../src/coordinator/store/migrations.js';
import { Store } from '../../src/coordinator/store/index.js';
import { newJob } from '../helpers/store-rows.js';
import { tempDir } from '../helpers/tmp.js';
import { harness } from './helpers.js';

describe('store', () => {
  test('one WAL SQLite file with foreign keys; migrations run once and are recorded', async () => {
    const dir = tempDir();
    try {
      let s = await Store.openSqlite(dir.path);
      assert.equal(s.db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(s.db.pragma('foreign_keys', { simple: true }), 1);
      assert.equal(s.db.pragma('synchronous', { simple: true }), 1); // NORMAL
      const versions = () =>
        (s.db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version);
      assert.deepEqual(versions(), [...SCHEMA_VERSIONS]);
      await s.close();
      s = await Store.openSqlite(dir.path); // reopening applies nothing twice
      assert.deepEqual(versions(), [...SCHEMA_VERSIONS]);
      // A job must belong to a pipeline.
      await assert.rejects(() => s.jobs.insert(newJob(42)), /FOREIGN KEY/);
      await s.close();
    } finally {
      dir.dispose();
    }
  });

  test('failure queries use the partial indexes', async () => {
    const dir = tempDir();
    try {
      const s = await Store.openSqlite(dir.path);
      const plan = (sql: string) =>
        (s.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join(' | ');
      const base = 'SELECT * FROM jobs WHERE failure_class IS NOT NULL AND finished_at IS NOT NULL';
      assert.match(plan(`${base} AND failure_class = 'infra' ORDER BY finished_at DESC, id DESC LIMIT 51`), /jobs_failures_class/);
      assert.match(plan(`${base} AND failure_cause = 'x' ORDER BY finished_at DESC, id DESC LIMIT 51`), /jobs_failures_cause/);
      assert.match(plan(`${base} AND ref = 'main' ORDER BY finished_at DESC, id DESC LIMIT 51`), /jobs_failures_ref/);
      assert.match(plan(`${base} ORDER BY finished_at DESC, id DESC LIMIT 51`), /USING INDEX jobs_failures/);
      assert.doesNotMatch(plan(`${base} AND failure_class = 'infra' ORDER BY finished_at DESC, id DESC LIMIT 51`), /TEMP B-TREE/);
      await s.close();
    } finally {
      dir.dispose();
    }
  });

  test('lastGreen: the latest successful job of the same project and name before a job, by index', async () => {
    const dir = tempDir();
    try {
      const s = await Store.openSqlite(dir.path);
      const pipeline = (project: string) =>
        Number(
          s.db
            .prepare(
              `INSERT INTO pipelines (project, ref, name, yaml, model_json, variables_json, status, created_at) VALUES (?, 'main', 'p', '', '{}', '{}', 'running', 0)`,
            )
            .run(project).lastInsertRowid,
        );
      const job = async (project: string, name: string, status: string) =>
        s.jobs.insert(newJob(pipeline(project), { project, name, status }));
      const old = await job('a', 'unit', 'success');
      const latest = await job('a', 'unit', 'success');
      await job('b', 'unit', 'success'); // another project
      await job('a', 'lint', 'success'); // another job
      await job('a', 'unit', 'failed');
      const failed = await job('a', 'unit', 'failed');
      const later = await job('a', 'unit', 'success'); // after the failure: not its baseline
      assert.equal(await s.jobs.lastGreen('a', 'unit', failed), latest);
      assert.equal(await s.jobs.lastGreen('a', 'unit', latest), old);
      assert.equal(await s.jobs.lastGreen('a', 'unit', old), undefined);
      assert.equal(await s.jobs.lastGreen('c', 'unit', later + 1), undefined);
      const plan = (
        s.db
          .prepare(
            `EXPLAIN QUERY PLAN SELECT id FROM jobs WHERE project = 'a' AND name = 'unit' AND status = 'success' AND id < 9 ORDER BY id DESC LIMIT 1`,
          )
          .all() as { detail: string }[]
      )
        .map((r) => r.detail)
        .join(' | ');
      assert.match(plan, /jobs_last_green/);
      assert.doesNotMatch(plan, /TEMP B-TREE/);
      await s.close();
    } finally {
      dir.dispose();
    }
  });

  test('events: job_transition, job_finished with the classification, pipeline_finished', async () => {
    const h = await harness();
    try {
      const seen: string[] = [];
      h.c.events.on('job_transition', (e) => seen.push(`${e.name}:${e.to}`));
      const finished = new Promise<any>((r) => h.c.events.once('job_finished', r));
      const pipelineDone = new Promise<any>((r) => h.c.events.once('pipeline_finished', r));
      const runner = await h.register({ name: 'events-runner' });
      await h.createPipeline('a:\n  script: x\n');
      const job = (await h.request(runner.token)).job!;
      await h.update(job, {
        state: 'failed',
        exit_code: 1,
        stages: [{ stage: 'step_script', start: new Date().toISOString(), end: new Date().toISOString() }],
        image_pulls: [
          {
            image: 'busybox',
            registry: 'docker.io',
            policy: 'always',
            outcome: 'success',
            kind: null,
            duration_ms: 12,
            at: new Date().toISOString(),
          },
        ],
      });
      const f = await finished;
      assert.equal(f.job.id, job.id);
      assert.equal(f.job.failure.reason, 'script_failure');
      assert.equal(f.stages.length, 1);
      // Read once by the finish, for every listener (metrics, incidents).
      assert.deepEqual([f.runner_id, f.runner], [runner.id, { name: 'events-runner', executor: 'shell' }]);
      const p = await pipelineDone;
      assert.equal(p.pipeline.status, 'failed');
      assert.deepEqual(seen, ['a:pending', 'a:running', 'a:failed']);
      const pulls = h.c.store.db.prepare('SELECT image, outcome FROM image_pulls WHERE job_id = ?').all(job.id);
      assert.deepEqual(pulls, [{ image: 'busybox', outcome: 'success' }]);
    } finally {
      await h.close();
    }
  });

  test('GET / serves the web UI', async () => {
    const h = await harness();
    try {
      const r = await fetch(`${h.c.url}/`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /text\/html/);
      assert.equal((await fetch(`${h.c.url}/healthz`)).status, 200);
    } finally {
      await h.close();
    }
  });
});
