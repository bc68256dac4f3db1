/**
 * Two coordinators handing out jobs (real PostgreSQL, both in this process): a job the other
 * coordinator took between this one's read and its claim costs no second engine step, and a
 * pipeline the other coordinator is stepping is not waited for while another pipeline has a job.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { PendingJob } from '../../../src/coordinator/store/jobs.js';
import { migratedTemplate, withPostgres } from '../../helpers/with-postgres.js';
import { byName, harness, type Harness } from '../helpers.js';

withPostgres(
  'hand-out under contention (real PostgreSQL, two coordinators)',
  (pg) => {
    async function pair(): Promise<[Harness, Harness]> {
      const db = await pg.database({ template: await migratedTemplate() });
      const a = await harness({ databaseUrl: db.url, longPollMs: 1 });
      pg.defer(() => a.close());
      const b = await harness({ databaseUrl: db.url, longPollMs: 1, apiToken: a.c.apiToken, registrationToken: a.c.registrationToken });
      pg.defer(() => b.close());
      return [a, b];
    }

    /** Counts calls of `obj[key]` (an async method), passing them through. */
    function count<T extends object>(obj: T, key: keyof T): { n: number } {
      const c = { n: 0 };
      const orig = (obj[key] as (...a: unknown[]) => unknown).bind(obj);
      (obj as Record<keyof T, unknown>)[key] = (...a: unknown[]) => (c.n++, orig(...a));
      return c;
    }

    test('the job read was taken by the other coordinator: the same step claims the next job of that pipeline', async () => {
      const [a, b] = await pair();
      const p = await a.createPipeline('j1:\n  script: echo 1\nj2:\n  script: echo 2\nj3:\n  script: echo 3\n');
      const onA = await a.register({ name: 'on-a' });
      const onB = await b.register({ name: 'on-b' });

      // Between A's read of the oldest pending job and A's claim of it, B hands that job out.
      const jobs = a.c.store.jobs as unknown as { pendingIter: (...x: unknown[]) => AsyncGenerator<PendingJob> };
      const orig = jobs.pendingIter.bind(jobs);
      let fromB: Awaited<ReturnType<Harness['request']>> | undefined;
      jobs.pendingIter = async function* (...x: unknown[]) {
        for await (const j of orig(...x)) {
          if (!fromB) fromB = await b.request(onB.token);
          yield j;
        }
      };
      // A hand-out steps with tryApply (apply when it waits for a busy pipeline): either is a step.
      const tried = count(a.c.pipelines, 'tryApply');
      const applied = count(a.c.pipelines, 'apply');
      const cas = count(a.c.store.jobs, 'casStart');
      const reads = count(a.c.store.jobs, 'pendingIn');

      const got = await a.request(onA.token);
      assert.equal(fromB?.status, 201);
      assert.equal(fromB?.job?.name, 'j1', 'B took the oldest job');
      assert.equal(got.status, 201);
      assert.equal(got.job?.name, 'j2', 'A got the next job of the same pipeline');
      assert.deepEqual(
        [tried.n + applied.n, cas.n, reads.n],
        [1, 1, 0],
        'one engine step on A, and in it one compare-and-set: j1 taken, the same statement claimed j2',
      );

      // Both coordinators' engines agree with the rows: j1 and j2 running, j3 still to hand out.
      for (const h of [a, b]) {
        const jobsNow = byName(await h.pipeline(p.id));
        assert.deepEqual(
          ['j1', 'j2', 'j3'].map((n) => jobsNow[n]!.status),
          ['running', 'running', 'pending'],
        );
      }
      const third = await b.request(onB.token);
      assert.equal(third.job?.name, 'j3');
      assert.equal((await a.request(onA.token)).status, 204, 'nothing handed out twice');
    });

    test("a pipeline the other coordinator is stepping is not waited for: the next pipeline's job is handed out; with none, the hand-out waits", async () => {
      const [a, b] = await pair();
      const older = await a.createPipeline('o1:\n  script: echo o\n');
      await a.createPipeline('n1:\n  script: echo n\n');
      const onA = await a.register({ name: 'on-a' });
      // B's engine step on the older pipeline, holding its row lock until released.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const step = b.c.store.sql.tx(async () => {
        await b.c.store.pipelines.beginStep(older.id);
        locked();
        await held;
      });
      pg.defer(() => (release(), step));
      await isLocked;
      const version = async () =>
        Number((await a.c.store.sql.get<{ v: number }>('SELECT version AS v FROM pipelines WHERE id = ?', [older.id]))!.v);
      const v0 = await version();

      const first = await Promise.race([a.request(onA.token), sleep(5000).then(() => 'waited for the lock' as const)]);
      assert.notEqual(first, 'waited for the lock');
      assert.equal(typeof first === 'object' && first.job?.name, 'n1', "the newer pipeline's job, while the older one is being stepped");

      // Now only the older pipeline has a job: the hand-out waits for B's step, then claims it.
      let answered = false;
      const second = a.request(onA.token).then((r) => ((answered = true), r));
      const waiting = async () =>
        Number(
          (await b.c.store.sql.get<{ n: number }>(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
          ))!.n,
        );
      for (const until = Date.now() + 10_000; (await waiting()) === 0;) {
        if (answered || Date.now() > until) assert.fail(`the hand-out did not wait for the lock (answered: ${answered})`);
        await sleep(20);
      }
      assert.equal(answered, false);
      release();
      await step;
      const got = await second;
      assert.equal(got.job?.name, 'o1', 'handed out once the step committed');
      assert.equal(await version(), v0 + 2, "B's step, then the claim: no step was taken while it was busy");
    });
  },
  { migratedTemplate: true },
);
