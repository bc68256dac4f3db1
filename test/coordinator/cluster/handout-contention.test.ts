/**
 * Two coordinators handing out jobs of one pipeline (real PostgreSQL, both in this process): a job
 * the other coordinator took between this one's read and its claim costs no second engine step.
 */
import assert from 'node:assert/strict';
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
      const steps = count(a.c.pipelines, 'apply' as keyof typeof a.c.pipelines);
      const cas = count(a.c.store.jobs, 'casStart');
      const reads = count(a.c.store.jobs, 'pendingIn');

      const got = await a.request(onA.token);
      assert.equal(fromB?.status, 201);
      assert.equal(fromB?.job?.name, 'j1', 'B took the oldest job');
      assert.equal(got.status, 201);
      assert.equal(got.job?.name, 'j2', 'A got the next job of the same pipeline');
      assert.deepEqual(
        [steps.n, cas.n, reads.n],
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
  },
  { migratedTemplate: true },
);
