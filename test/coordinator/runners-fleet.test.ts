/** The runner fleet (issue 12): GET/DELETE /api/v1/runners, re-register without ghosts, stale sweep. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunnerRemovedEvent } from '../../src/coordinator/events.js';
import { fleetState, type RunnerRow } from '../../src/coordinator/store/runners.js';
import type { RunnerJson } from '../../src/protocol/user-api.js';
import { forEachCoordinatorEngine, harness, type Harness } from './helpers.js';

const runners = async (h: Harness) => (await h.api<{ runners: RunnerJson[] }>('GET', '/api/v1/runners')).body.runners;

forEachCoordinatorEngine('runner fleet API', (harness) => {
  let h: Harness;
  const removed: RunnerRemovedEvent[] = [];
  before(async () => {
    h = await harness({ longPollMs: 200 });
    h.c.events.on('runner_removed', (e) => removed.push(e));
  });
  after(() => h.close());

  test('a runner registering again with the same name and host replaces its record (no ghost)', async () => {
    const first = await h.register({ name: 'builder', host: 'ci-1.example', version: '0.1.0', tags: ['a'] });
    const again = await h.register({ name: 'builder', host: 'ci-1.example', version: '0.2.0', tags: ['b'] });
    const elsewhere = await h.register({ name: 'builder', host: 'ci-2.example' });
    assert.equal(again.id, first.id);
    assert.notEqual(elsewhere.id, first.id);
    const mine = (await runners(h)).filter((r) => r.name === 'builder');
    assert.equal(mine.length, 2);
    const r = mine.find((x) => x.id === first.id)!;
    assert.deepEqual([r.host, r.version, r.tags, r.state, r.executor], ['ci-1.example', '0.2.0', ['b'], 'online', 'shell']);
    // The old token belongs to the replaced registration: refused.
    assert.equal((await h.request(first.token)).status, 403);
    assert.equal((await h.request(again.token)).status, 204);
  });

  test('GET lists jobs running and recent infra failures per runner', async () => {
    const runner = await h.register({ name: 'counter', host: 'ci-3.example', tags: ['count'] });
    await h.createPipeline('a:\n  tags: [count]\n  script: [x]\nb:\n  tags: [count]\n  script: [y]\n');
    const ja = (await h.request(runner.token)).job!;
    const jb = (await h.request(runner.token)).job!;
    let me = (await runners(h)).find((r) => r.id === runner.id)!;
    assert.equal(me.jobs_running, 2);
    assert.equal(me.recent_infra_failures, 0);
    assert.match(me.last_contact_at!, /^\d{4}-\d\d-\d\dT/);
    await h.update(ja, {
      state: 'failed',
      exit_code: null,
      failure: {
        reason: 'runner_system_failure',
        stage: 'prepare_executor',
        message: 'executor crashed',
        executor: 'shell',
        image: null,
        registry: null,
      },
    });
    await h.update(jb, { state: 'failed', exit_code: 1, failure: null });
    await h.waitFor(async () => (await h.job(jb.id)).failure && (await h.job(ja.id)).failure);
    me = (await runners(h)).find((r) => r.id === runner.id)!;
    assert.equal(me.jobs_running, 0);
    assert.equal(me.recent_infra_failures, 1, 'the script failure is build, not infra');
  });

  test('DELETE removes the runner, fails its running job as infra, revokes its token, emits runner_removed', async () => {
    const runner = await h.register({ name: 'doomed', host: 'ci-4.example', tags: ['doomed'] });
    await h.createPipeline('j:\n  tags: [doomed]\n  script: [sleep 100]\n');
    const job = (await h.request(runner.token)).job!;
    const del = await h.api('DELETE', `/api/v1/runners/${runner.id}`);
    assert.equal(del.status, 204);
    assert.ok(!(await runners(h)).some((r) => r.id === runner.id));
    assert.deepEqual(
      removed.filter((e) => e.runner_id === runner.id).map((e) => e.reason),
      ['deleted'],
    );
    const failed = await h.waitFor(async () => (await h.job(job.id)).failure);
    assert.equal(failed.reason, 'runner_system_failure');
    assert.equal(failed.class, 'infra');
    assert.match(failed.message ?? '', /removed/);
    assert.equal((await h.request(runner.token)).status, 403);
    assert.equal((await h.api('DELETE', `/api/v1/runners/${runner.id}`)).status, 404);
    assert.equal((await h.api('DELETE', '/api/v1/runners/999999')).status, 404);
    // Registering again after removal makes a new record, not the removed one back.
    const back = await h.register({ name: 'doomed', host: 'ci-4.example' });
    assert.notEqual(back.id, runner.id);
  });
});

describe('stale runners', () => {
  test('a runner not heard of for the stale time is removed by the sweep; one that keeps in touch stays', async () => {
    const h = await harness({ longPollMs: 100, heartbeatTimeoutMs: 400, runnerStaleMs: 1500 });
    try {
      const removed: RunnerRemovedEvent[] = [];
      h.c.events.on('runner_removed', (e) => removed.push(e));
      const quiet = await h.register({ name: 'quiet', host: 'h1' });
      const chatty = await h.register({ name: 'chatty', host: 'h2' });
      await h.waitFor(async () => {
        await h.request(chatty.token);
        return removed.some((e) => e.runner_id === quiet.id);
      }, 8000);
      assert.deepEqual(
        removed.map((e) => [e.runner_id, e.reason]),
        [[quiet.id, 'stale']],
      );
      assert.deepEqual(
        (await runners(h)).map((r) => r.name),
        ['chatty'],
      );
    } finally {
      await h.close();
    }
  });

  test('states follow GitLab: online, offline after the heartbeat timeout, stale after the stale time', () => {
    const row = { state: 'online', last_heartbeat_at: 1_000, created_at: 0 } as RunnerRow;
    assert.equal(fleetState(row, 1_500, 1_000, 10_000), 'online');
    assert.equal(fleetState(row, 2_500, 1_000, 10_000), 'offline');
    assert.equal(fleetState({ ...row, state: 'offline' }, 1_200, 1_000, 10_000), 'offline');
    assert.equal(fleetState(row, 11_000, 1_000, 10_000), 'stale');
  });
});

describe('runbooks', () => {
  test('the coordinator serves docs/runbooks.md, where every alert runbook_url points', async () => {
    const h = await harness();
    try {
      const res = await fetch(`${h.c.url}/docs/runbooks.md`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/markdown/);
      assert.match(await res.text(), /^## FaultlineDown$/m);
    } finally {
      await h.close();
    }
  });
});
