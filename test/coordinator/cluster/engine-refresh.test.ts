/**
 * Two coordinators stepping one pipeline by turns (real PostgreSQL, both in this process): each
 * step finds its engine behind by the other's steps and takes only the job rows written since
 * (jobs.step_version), never rebuilding it; after every step the engine equals a rebuild from the
 * rows. Hand-outs, finishes, a retry, an allowed failure, a manual play and a cancel, on either side.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineCache } from '../../../src/coordinator/services/engines.js';
import type { PipelineRow } from '../../../src/coordinator/store/pipelines.js';
import { migratedTemplate, withPostgres } from '../../helpers/with-postgres.js';
import { byName, harness, type Harness } from '../helpers.js';

const YAML = `
stages: [build, test, deploy]
build:
  stage: build
  script: make
lint:
  stage: build
  script: lint
  allow_failure: true
unit:
  stage: test
  needs: [build]
  script: test
e2e:
  stage: test
  script: e2e
slow:
  stage: test
  script: sleep
deploy:
  stage: deploy
  script: deploy
  when: manual
  allow_failure: false # blocks: the pipeline stays open until it is played
`;

withPostgres(
  'engine refresh (real PostgreSQL, two coordinators stepping one pipeline)',
  (pg) => {
    test("every step on either coordinator takes the other one's changes without a rebuild, and ends where a rebuild would", async () => {
      const db = await pg.database({ template: await migratedTemplate() });
      const a = await harness({ databaseUrl: db.url, longPollMs: 1 });
      pg.defer(() => a.close());
      const b = await harness({ databaseUrl: db.url, longPollMs: 1, apiToken: a.c.apiToken, registrationToken: a.c.registrationToken });
      pg.defer(() => b.close());
      const runner = { a: await a.register({ name: 'on-a' }), b: await b.register({ name: 'on-b' }) };
      const p = await a.createPipeline(YAML);
      const status = async (h: Harness, name: string) => byName(await h.pipeline(p.id))[name];

      /** The engine of the coordinator that just stepped: at the row's version, equal to a rebuild from the rows. */
      const check = async (h: Harness, after: string) => {
        const row = (await h.c.store.pipelines.get(p.id)) as PipelineRow & { version: number };
        const cached = h.c.pipelines.engines.peek(p.id);
        assert.equal(cached?.version, row.version, `${after}: the engine that stepped is at the row's version`);
        const rebuilt = await new EngineCache(h.c.store).get(p.id, row.version, row);
        assert.deepEqual(cached.engine.states(), rebuilt.states(), `${after}: engine = rebuild`);
        assert.deepEqual(cached.engine.meta(), rebuilt.meta(), `${after}: meta = rebuild`);
      };
      /** The final update stored and then fed to the engine by h's finisher (finish_pending cleared). */
      const finished = (h: Harness, id: number, want: string) =>
        h.waitFor(async () => {
          const row = await h.c.store.jobs.get(id);
          return row?.status === want && row.finish_pending === 0;
        });
      const take = async (h: Harness, who: 'a' | 'b', name: string) => {
        const got = await h.request(runner[who].token);
        assert.equal(got.job?.name, name, `${who} is handed ${name}`);
        await check(h, `${who} hands out ${name}`);
        return got.job!;
      };
      const finish = async (h: Harness, job: { id: number; token: string; name: string }, exit: number, want: string) => {
        await h.update(job, { state: exit === 0 ? 'success' : 'failed', exit_code: exit });
        await finished(h, job.id, want);
        await check(h, `${job.name} finished ${want}`);
      };

      const build = await take(b, 'b', 'build'); // b's first touch: its one rebuild
      const lint = await take(a, 'a', 'lint');
      await finish(b, build, 0, 'success');
      const unit = await take(a, 'a', 'unit'); // needs: build only — pending before the stage ends
      await finish(b, lint, 1, 'failed'); // allowed to fail: the stage passes with a warning
      const e2e = await take(a, 'a', 'e2e');
      const slow = await take(b, 'b', 'slow');
      await finish(a, unit, 1, 'failed');
      const retried = await a.api('POST', `/api/v1/jobs/${unit.id}/retry`);
      assert.equal(retried.status, 200, JSON.stringify(retried.body));
      await check(a, 'retry of unit');
      const unit2 = await take(b, 'b', 'unit');
      assert.equal((await status(b, 'unit'))?.attempt, 2);
      await finish(a, unit2, 0, 'success');
      await finish(b, e2e, 0, 'success');
      await finish(a, slow, 0, 'success');

      const deploy = (await status(b, 'deploy'))!;
      assert.equal(deploy.status, 'manual');
      assert.equal((await b.api('POST', `/api/v1/jobs/${deploy.id}/play`)).status, 200);
      await check(b, 'play of deploy');
      const running = await take(a, 'a', 'deploy');
      const canceled = await b.api('POST', `/api/v1/jobs/${deploy.id}/cancel`);
      assert.equal(canceled.status, 200, JSON.stringify(canceled.body));
      await check(b, 'cancel of deploy');

      const [sa, sb] = [a.c.pipelines.engines.stats, b.c.pipelines.engines.stats];
      assert.deepEqual([sa.rebuilds, sb.rebuilds], [0, 1], 'a created the pipeline; b rebuilt once, at its first step');
      assert.ok(sa.refreshes >= 5 && sb.refreshes >= 5, `both took the other's changes: ${JSON.stringify([sa, sb])}`);
      const metrics = await (await fetch(`${b.c.url}/metrics`)).text();
      assert.match(metrics, new RegExp(`^faultline_engine_catchups_total\\{how="refreshed"\\} ${sb.refreshes}$`, 'm'), 'on /metrics');
      assert.match(metrics, /^faultline_engine_catchups_total\{how="rebuilt"\} 1$/m);

      // The last step ends the pipeline (its engine is dropped then): the rows tell the rest.
      await a.update(running, { state: 'canceled', exit_code: null });
      const end = await b.waitFor(async () => {
        const now = await b.pipeline(p.id);
        return now.status === 'canceled' && now;
      });
      assert.deepEqual(Object.fromEntries(Object.entries(byName(end)).map(([n, j]) => [n, `${j!.status}#${j!.attempt}`])), {
        build: 'success#1',
        lint: 'failed#1',
        unit: 'success#2',
        e2e: 'success#1',
        slow: 'success#1',
        deploy: 'canceled#1',
      });
    });
  },
  { migratedTemplate: true },
);
